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
)

ALL_TABLES = (Conversation, Message, AdminSession, LoginAttempt, KeyValue, Presence, Attachment, FileDeletion)

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
]
