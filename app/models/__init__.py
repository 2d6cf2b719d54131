"""Piccolo tables. Thin on purpose: business rules live in app/services/."""

from app.models.tables import AdminSession, Conversation, KeyValue, LoginAttempt, Message, Presence

ALL_TABLES = (Conversation, Message, AdminSession, LoginAttempt, KeyValue, Presence)

__all__ = ["ALL_TABLES", "AdminSession", "Conversation", "KeyValue", "LoginAttempt", "Message", "Presence"]
