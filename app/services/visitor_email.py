"""The visitor's email address (SPEC §9): checked by syntax only (email-validator, no DNS lookup), kept on the
conversation encrypted like message text (a Fernet token in `conversation.email`), and whether the visitor page
offers the field (`ASK_EMAIL`: `never`, `always`, or `away` — while no agent is online or outside business
hours)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email

from app.models import Conversation
from app.models.db import write_transaction
from app.services import search
from app.services.crypto import Cipher
from app.services.presence import ADMIN, PresenceTracker
from app.services.text import TextError
from app.services.views import ThreadView

ADDRESS_LIMIT = 254  # RFC 5321's path limit


def check_email(raw: str | None) -> str | None:
    """The normalised address, or None when none was given; TextError("email_invalid") when it is not one."""
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > ADDRESS_LIMIT or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise TextError("email_invalid")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise TextError("email_invalid") from None


class VisitorEmails:
    """Asking for, checking and keeping the visitor's address."""

    def __init__(
        self,
        engine: Any,
        cipher: Cipher,
        presence: PresenceTracker,
        ask: str,
        *,
        online: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._presence = presence
        self.ask_mode = ask
        # Whether support is online: by default an available agent; the app adds business hours (app/services/away.py).
        self._online = online or (lambda: presence.is_online(ADMIN))

    def encrypted(self, address: str | None) -> str | None:
        """What `conversation.email` holds for `address` (checked already)."""
        return self._cipher.encrypt(address) if address else None

    async def asks(self, conversation: ThreadView | None = None) -> bool:
        """Whether the page offers the email field (never again once this conversation has an address)."""
        if self.ask_mode == "never" or (conversation is not None and conversation.email):
            return False
        return self.ask_mode == "always" or not await self._online()

    async def save(self, conversation_id: int, raw: str | None) -> str:
        """POST /chat/email: keep the address for this conversation; TextError when it is missing or invalid."""
        address = check_email(raw)
        if address is None:
            raise TextError("email_missing")
        async with write_transaction(self._engine):
            named = await (
                Conversation.update({Conversation.email: self.encrypted(address)})
                .where(Conversation.id == conversation_id)
                .returning(Conversation.display_name)
            )
            if named:  # the search index finds the conversation by its new address (app/services/search.py)
                await search.index_visitor(self._cipher, conversation_id, named[0]["display_name"], address)
        return address
