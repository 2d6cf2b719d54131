"""Piccolo tables. Thin on purpose: business rules live in app/services/."""

from app.models.tables import (
    AdminSession,
    Attachment,
    Conversation,
    FileDeletion,
    KeyValue,
    LoginAttempt,
    Message,
    Presence,
    TelegramLink,
    TelegramOutbox,
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
)

__all__ = [
    "ALL_TABLES",
    "AdminSession",
    "Attachment",
    "Conversation",
    "FileDeletion",
    "KeyValue",
    "LoginAttempt",
    "Message",
    "Presence",
    "TelegramLink",
    "TelegramOutbox",
]
