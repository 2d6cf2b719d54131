"""Deleting a visitor's conversation for good (SPEC §11): on the visitor's request (POST /chat/delete) or an
owner's (erase by email on /admin/privacy). Everything of it goes in one transaction — the conversation, its
messages, files (queued for deletion with the commit), read marks, labels, ratings, outbox rows, Telegram
routing, the address it started from, its search entries — and the audit log records who erased which
conversation (never what was in it). Then the copies the bot posted in the Telegram chat are deleted through
`deleteMessage` where Telegram still allows it (48 hours in groups); the others are reported as kept."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.models import Conversation, Message, TelegramLink
from app.models.db import write_transaction
from app.services import audit
from app.services.conversations import QUEUE_FILES_SQL
from app.services.crypto import Cipher
from app.services.realtime import Broker, Event, revocation, visitor_topic
from app.services.telegram import TelegramBridge
from app.services.telegram.client import TelegramError

log = logging.getLogger("sohbet.erasure")
SCAN_BATCH = 500


@dataclass(frozen=True, slots=True)
class Erased:
    conversation_id: int
    telegram_deleted: int
    telegram_kept: int


class Erasure:
    def __init__(
        self,
        engine: Any,
        broker: Broker,
        cipher: Cipher,
        files_queued: Callable[[], None],
        telegram: TelegramBridge | None,
    ) -> None:
        self._engine = engine
        self._broker = broker
        self._cipher = cipher
        self._files_queued = files_queued
        self._telegram = telegram

    async def erase(self, conversation_id: int, *, actor: str, ip: str = "", by: str = "visitor") -> Erased | None:
        """Delete the conversation and everything of it; None when it does not exist (any more)."""
        copies = await TelegramLink.select(TelegramLink.chat_id, TelegramLink.telegram_message_id).where(
            TelegramLink.conversation == conversation_id
        )
        async with write_transaction(self._engine):
            # The files' rows go with the conversation; their bytes are queued for deletion in the same commit.
            await Conversation.raw(QUEUE_FILES_SQL + " WHERE conversation = {}", conversation_id)
            await Message.delete().where(Message.conversation == conversation_id)
            gone = await Conversation.delete().where(Conversation.id == conversation_id).returning(Conversation.id)
            if not gone:
                return None
            await audit.record("conversation.erased", str(conversation_id), actor=actor, ip=ip, by=by)
            events = [revocation(visitor_topic(conversation_id)), Event("thread", conversation_id)]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        self._files_queued()
        deleted, kept = await self._delete_copies(copies)
        return Erased(conversation_id, deleted, kept)

    async def find_by_email(self, address: str) -> list[int]:
        """The conversations whose visitor left this address (case-insensitive). Addresses are encrypted, each
        with its own nonce: every stored one is decrypted and compared (a small business's volume)."""
        wanted = address.strip().casefold()
        found: list[int] = []
        after = 0
        while True:
            rows = await (
                Conversation.select(Conversation.id, Conversation.email)
                .where((Conversation.id > after) & Conversation.email.is_not_null())
                .order_by(Conversation.id)
                .limit(SCAN_BATCH)
            )
            if not rows:
                return found
            found += [r["id"] for r in rows if self._cipher.decrypt(r["email"]).strip().casefold() == wanted]
            after = rows[-1]["id"]

    async def _delete_copies(self, copies: list[dict[str, Any]]) -> tuple[int, int]:
        bridge = self._telegram
        if bridge is None or not copies:
            return 0, len(copies)
        deleted = 0
        for copy in copies:
            try:
                await bridge.client.call(
                    "deleteMessage", chat_id=copy["chat_id"], message_id=copy["telegram_message_id"]
                )
                deleted += 1
            except TelegramError as exc:  # too old (48 h in groups), already gone, or Telegram is away
                log.info(json.dumps({"event": "erasure.telegram_kept", "error": exc.description[:100]}))
        return deleted, len(copies) - deleted
