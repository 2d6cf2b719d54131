"""Each agent's own Telegram account (SPEC §8): linking it through the bot, and who a Telegram user is.

Linking: on /admin/me the agent asks for a link (a POST: a GET writes nothing); a one-time token is stored hashed on
the agent with its expiry (LINK_SECONDS) and shown as the deep link `https://t.me/<bot>?start=<token>`. When the bot
gets `/start <token>` in a private chat, the sender's Telegram user id and that chat are stored on the agent, the
token ends, and an audit event is written. A used, expired or unknown token changes nothing. A Telegram account
already linked to another agent *moves* to the new one (the person holding the account proved they also hold this
agent's session; one account answers for one agent only, so replies from it have one author).

A linked account then: receives the agent's login codes (unless they use TOTP; app/services/auth.py), authors the
replies it writes in the admin chat, and may run the team commands there (app/services/telegram/commands.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.clock import now
from app.models import Agent
from app.models.db import write_transaction
from app.services import audit
from app.services.crypto import new_token, token_hash
from app.services.telegram.client import TelegramClient, TelegramError

log = logging.getLogger("sohbet.telegram")

LINK_SECONDS = 3600
TOKEN_MAX = 64  # Telegram's limit for a deep-link start parameter


class LinkRefused(Exception):
    """Nothing changed. `code`: the i18n key of the reason (`me.telegram_off`, `me.telegram_unreachable`)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


class TelegramAccounts:
    """`client` is None when Telegram is not configured: then nothing can be linked (the page says so)."""

    def __init__(self, engine: Any, client: TelegramClient | None, *, link_seconds: int = LINK_SECONDS) -> None:
        self._engine = engine
        self._client = client
        self._link_seconds = link_seconds
        self._bot_username: str | None = None

    @property
    def configured(self) -> bool:
        return self._client is not None

    async def bot_username(self) -> str:
        """The bot's @username, asked of Telegram once per process (getMe). LinkRefused when unreachable."""
        if self._client is None:
            raise LinkRefused(409, "me.telegram_off")
        if self._bot_username is None:
            try:
                me = await self._client.call("getMe")
            except TelegramError:
                raise LinkRefused(503, "me.telegram_unreachable") from None
            name = me.get("username") if isinstance(me, dict) else None
            if not isinstance(name, str) or not name:
                raise LinkRefused(503, "me.telegram_unreachable")
            self._bot_username = name
        return self._bot_username

    async def new_link(self, username: str) -> str:
        """A deep link for this agent, valid LINK_SECONDS (a new one replaces the one before)."""
        bot = await self.bot_username()
        token = new_token()
        changes: dict[Any, Any] = {
            Agent.telegram_link_hash: token_hash(token),
            Agent.telegram_link_expires_at: now() + self._link_seconds,
        }
        await Agent.update(changes).where(Agent.username == username)
        return f"https://t.me/{bot}?start={token}"

    async def unlink(self, username: str, *, ip: str = "") -> None:
        changes: dict[Any, Any] = {
            Agent.telegram_user_id: None,
            Agent.telegram_chat_id: None,
            Agent.telegram_link_hash: None,
            Agent.telegram_link_expires_at: None,
        }
        async with write_transaction(self._engine):
            gone = (
                await Agent.update(changes)
                .where((Agent.username == username) & Agent.telegram_user_id.is_not_null())
                .returning(Agent.username)
            )
            if gone:
                await audit.record("team.telegram_unlinked", username, actor=username, ip=ip)
        if gone:
            log.info(json.dumps({"event": "team.telegram_unlinked", "username": username}))

    async def complete(self, token: str, telegram_user_id: int, chat_id: str) -> str | None:
        """`/start <token>` from a private chat: the agent's display name once linked, None when the token is
        unknown, used or expired (nothing changed). The token ends as it links."""
        if not token or len(token) > TOKEN_MAX:
            return None
        hashed = token_hash(token)
        async with write_transaction(self._engine):
            row = await (
                Agent.select(Agent.username, Agent.display_name, Agent.disabled, Agent.telegram_link_expires_at)
                .where(Agent.telegram_link_hash == hashed)
                .first()
            )
            if row is None or row["disabled"] or (row["telegram_link_expires_at"] or 0) <= now():
                return None
            moved = await (
                Agent.update({Agent.telegram_user_id: None, Agent.telegram_chat_id: None})
                .where((Agent.telegram_user_id == telegram_user_id) & (Agent.username != row["username"]))
                .returning(Agent.username)
            )
            changes: dict[Any, Any] = {
                Agent.telegram_user_id: telegram_user_id,
                Agent.telegram_chat_id: chat_id,
                Agent.telegram_link_hash: None,
                Agent.telegram_link_expires_at: None,
            }
            await Agent.update(changes).where(Agent.username == row["username"])
            details: dict[str, Any] = {"moved_from": moved[0]["username"]} if moved else {}
            await audit.record("team.telegram_linked", row["username"], actor=row["username"], **details)
        log.info(json.dumps({"event": "team.telegram_linked", "username": row["username"], "moved": bool(moved)}))
        return str(row["display_name"] or row["username"])


async def agent_of(telegram_user_id: Any) -> str | None:
    """The username of the enabled agent this Telegram user is linked to, else None (a stranger: "Support")."""
    if not isinstance(telegram_user_id, int) or isinstance(telegram_user_id, bool):
        return None
    row = await (
        Agent.select(Agent.username)
        .where((Agent.telegram_user_id == telegram_user_id) & (Agent.disabled == False))  # noqa: E712
        .first()
    )
    return str(row["username"]) if row else None
