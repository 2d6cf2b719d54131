"""Piccolo tables. Thin on purpose: business rules live in app/services/."""

from app.models.tables import (
    AdminSession,
    Attachment,
    Conversation,
    Counter,
    FileDeletion,
    KeyValue,
    Lease,
    LoginAttempt,
    Message,
    Presence,
    TelegramLink,
    TelegramOutbox,
    TelegramTopic,
    TelegramUpdate,
)

ALL_TABLES = (
    Conversation,
    Message,
    AdminSession,
    LoginAttempt,
    KeyValue,
    Presence,
    Attachment,
    FileDeletion,
    TelegramOutbox,
    TelegramLink,
    TelegramTopic,
    TelegramUpdate,
    Lease,
    Counter,
)

__all__ = [
    "ALL_TABLES",
    "AdminSession",
    "Attachment",
    "Conversation",
    "Counter",
    "FileDeletion",
    "KeyValue",
    "Lease",
    "LoginAttempt",
    "Message",
    "Presence",
    "TelegramLink",
    "TelegramOutbox",
    "TelegramTopic",
    "TelegramUpdate",
]
