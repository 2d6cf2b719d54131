"""Client ids of posts (SPEC §13 idempotent posts): the `client_msg_id` a composer form carries and the
`Idempotency-Key` a JSON send may carry. The message row stores it, unique per conversation (see
ConversationService.post), so a retried post is recognised and stored once."""

from __future__ import annotations

import re
import secrets

CLIENT_MSG_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def new_client_msg_id() -> str:
    """A fresh id for one composer form (rendered with it; a retry of that post sends it again)."""
    return secrets.token_urlsafe(16)


def valid_client_msg_id(value: str) -> bool:
    """8–64 characters of [A-Za-z0-9_-]."""
    return CLIENT_MSG_ID.fullmatch(value) is not None
