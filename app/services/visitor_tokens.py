"""Which visitor tokens open a conversation (the cookie's bearer token, stored hashed): the one its start gave
(`visitor_token_hash`) and, once a resume link from a mail was opened (app/services/replies.py), the one token
every opening of such a link gives (`resume_token_hash`). That one is derived from SECRET_KEY and the conversation,
so every device that opens the link gets the same token and the device that started the chat keeps its own.
Ending the chat revokes both."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from app.models import Conversation
from app.services.crypto import new_token, token_hash


def visitor_token_matches(token: str) -> Any:
    """The WHERE clause for the conversation `token` opens."""
    hashed = token_hash(token)
    return (Conversation.visitor_token_hash == hashed) | (Conversation.resume_token_hash == hashed)


def revoked_tokens() -> dict[Any, Any]:
    """The changes that revoke every token of a conversation (a random hash nobody holds; the unique column keeps
    a value)."""
    return {Conversation.visitor_token_hash: token_hash(new_token()), Conversation.resume_token_hash: None}


def resume_token(secret_key: str, conversation_id: int) -> str:
    """The visitor token a resume link gives for `conversation_id` (the same on every device)."""
    key = hashlib.sha256(f"resume-visitor:{secret_key}".encode()).digest()
    mac = hmac.new(key, str(conversation_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")
