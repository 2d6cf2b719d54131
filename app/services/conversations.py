"""Conversations and their messages: starting, posting, paging, clearing, ending, the admin's thread list.

Every event in a conversation (a message, a clear) takes the next number of `Conversation.last_seq` in the
transaction that stores it. The UPDATE locks the conversation row until commit, so numbers are gap-free and
commit in order: a stream that has sent number N can always ask for "after N" and miss nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.models import Conversation, Message
from app.models.db import write_transaction
from app.services.crypto import Cipher, new_token, token_hash
from app.services.realtime import Broker, Event, publish_now
from app.services.text import preview

SENDERS = ("visitor", "admin", "system")


class ConversationNotFound(LookupError):
    """No such conversation (or it was deleted)."""


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    conversation_id: int
    seq: int
    sender: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ThreadView:
    id: int
    display_name: str
    last_activity_at: datetime
    last_seq: int
    cleared_seq: int
    unread_count: int
    preview: str
    last_sender: str
    ended: bool
    online: bool = False


@dataclass(frozen=True, slots=True)
class Catchup:
    """What a stream that has sent up to `after` still owes its client."""

    exists: bool
    cleared_seq: int  # > after: the client must empty its list first
    messages: list[MessageView]


class ConversationService:
    def __init__(self, engine: Any, cipher: Cipher, broker: Broker, page_size: int = 50) -> None:
        self._engine = engine
        self._cipher = cipher
        self._broker = broker
        self.page_size = page_size

    # -- reading ---------------------------------------------------------------------------------------

    def _view(self, row: dict[str, Any]) -> MessageView:
        return MessageView(
            id=row["id"],
            conversation_id=row["conversation"],
            seq=row["seq"],
            sender=row["sender"],
            text=self._cipher.decrypt(row["body"]),
            created_at=row["created_at"],
        )

    def _thread(self, row: dict[str, Any]) -> ThreadView:
        return ThreadView(
            id=row["id"],
            display_name=row["display_name"],
            last_activity_at=row["last_activity_at"],
            last_seq=row["last_seq"],
            cleared_seq=row["cleared_seq"],
            unread_count=row["unread_count"],
            preview=self._cipher.decrypt(row["last_preview"]),
            last_sender=row["last_sender"],
            ended=row["ended_at"] is not None,
        )

    async def by_visitor_token(self, token: str) -> ThreadView | None:
        row = await Conversation.select().where(Conversation.visitor_token_hash == token_hash(token)).first()
        return self._thread(row) if row else None

    async def get(self, conversation_id: int) -> ThreadView | None:
        row = await Conversation.select().where(Conversation.id == conversation_id).first()
        return self._thread(row) if row else None

    async def page(self, conversation_id: int, before_seq: int | None = None) -> tuple[list[MessageView], bool]:
        """Newest page of messages (or the page before `before_seq`), oldest first, and whether more exist."""
        query = Message.select().where(Message.conversation == conversation_id)
        if before_seq is not None:
            query = query.where(Message.seq < before_seq)
        rows = await query.order_by(Message.seq, ascending=False).limit(self.page_size + 1)
        has_more = len(rows) > self.page_size
        return [self._view(r) for r in reversed(rows[: self.page_size])], has_more

    async def catch_up(self, conversation_id: int, after_seq: int, limit: int = 500) -> Catchup:
        conversation = (
            await Conversation.select(Conversation.cleared_seq).where(Conversation.id == conversation_id).first()
        )
        if conversation is None:
            return Catchup(exists=False, cleared_seq=0, messages=[])
        rows = await (
            Message.select()
            .where((Message.conversation == conversation_id) & (Message.seq > after_seq))
            .order_by(Message.seq)
            .limit(limit)
        )
        cleared = conversation["cleared_seq"]
        return Catchup(
            exists=True,
            cleared_seq=cleared if cleared > after_seq else 0,
            messages=[self._view(r) for r in rows],
        )

    async def threads(self, limit: int = 200) -> list[ThreadView]:
        rows = await Conversation.select().order_by(Conversation.last_activity_at, ascending=False).limit(limit)
        return [self._thread(r) for r in rows]

    async def total_unread(self) -> int:
        rows = await Conversation.select(Conversation.unread_count).where(Conversation.unread_count > 0)
        return sum(r["unread_count"] for r in rows)

    # -- writing ---------------------------------------------------------------------------------------

    async def start(self, display_name: str, language: str) -> tuple[ThreadView, str]:
        """A new conversation and the visitor's bearer token (only its hash is stored)."""
        token = new_token()
        moment = datetime.now(UTC)
        async with write_transaction(self._engine):
            rows = await Conversation.insert(
                Conversation(
                    visitor_token_hash=token_hash(token),
                    display_name=display_name,
                    language=language,
                    created_at=moment,
                    last_activity_at=moment,
                    last_preview="",
                )
            ).returning(Conversation.id)
            conversation_id = rows[0]["id"]
            events = [Event("thread", conversation_id)]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        thread = await self.get(conversation_id)
        assert thread is not None
        return thread, token

    async def post(self, conversation_id: int, sender: str, text: str) -> MessageView:
        if sender not in SENDERS:
            raise ValueError(f"unknown sender {sender!r}")
        moment = datetime.now(UTC)
        body = self._cipher.encrypt(text)
        async with write_transaction(self._engine):
            # The row lock taken here orders every writer of this conversation until commit.
            updated = await (
                Conversation.update(
                    {
                        Conversation.last_seq: Conversation.last_seq + 1,
                        Conversation.last_activity_at: moment,
                        Conversation.unread_count: Conversation.unread_count + (1 if sender == "visitor" else 0),
                        Conversation.last_preview: self._cipher.encrypt(preview(text)),
                        Conversation.last_sender: sender,
                    }
                )
                .where(Conversation.id == conversation_id)
                .returning(Conversation.last_seq)
            )
            if not updated:
                raise ConversationNotFound(conversation_id)
            seq = updated[0]["last_seq"]
            inserted = await Message.insert(
                Message(conversation=conversation_id, seq=seq, sender=sender, body=body, created_at=moment)
            ).returning(Message.id)
            events = [Event("msg", conversation_id, seq, sender)]
            await self._broker.publish_in_transaction(events)
        # Memory broker: wake streams only now, after commit, so they read what was committed.
        self._broker.after_commit(events)
        return MessageView(inserted[0]["id"], conversation_id, seq, sender, text, moment)

    async def clear(self, conversation_id: int) -> None:
        """Delete the messages; the clear itself takes a sequence number so streams replay it."""
        async with write_transaction(self._engine):
            updated = await (
                Conversation.update(
                    {
                        Conversation.last_seq: Conversation.last_seq + 1,
                        Conversation.cleared_seq: Conversation.last_seq + 1,
                        Conversation.unread_count: 0,
                        Conversation.last_preview: "",
                        Conversation.last_sender: "",
                    }
                )
                .where(Conversation.id == conversation_id)
                .returning(Conversation.last_seq)
            )
            if not updated:
                raise ConversationNotFound(conversation_id)
            await Message.delete().where(Message.conversation == conversation_id)
            events = [Event("clear", conversation_id, updated[0]["last_seq"])]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)

    async def clear_all(self) -> int:
        """Delete every conversation and message; returns how many conversations went."""
        async with write_transaction(self._engine):
            count = await Conversation.count()
            await Message.delete(force=True)
            await Conversation.delete(force=True)
            events = [Event("clear_all")]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        return count

    async def end(self, conversation_id: int, note: str) -> None:
        """The visitor left: a system message, and the conversation is marked ended."""
        await self.post(conversation_id, "system", note)
        await Conversation.update({Conversation.ended_at: datetime.now(UTC)}).where(Conversation.id == conversation_id)
        await publish_now(self._broker, [Event("thread", conversation_id)])

    async def mark_read(self, conversation_id: int) -> None:
        changed = await (
            Conversation.update({Conversation.unread_count: 0})
            .where((Conversation.id == conversation_id) & (Conversation.unread_count > 0))
            .returning(Conversation.id)
        )
        if changed:
            await publish_now(self._broker, [Event("thread", conversation_id)])
