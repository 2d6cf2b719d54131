"""Conversations and their messages: starting, posting, paging, clearing, ending, the admin's thread list.

Every event in a conversation (a message, a clear) takes the next number of `Conversation.last_seq` in the
transaction that stores it. The UPDATE locks the conversation row until commit, so numbers are gap-free and
commit in order: a stream that has sent number N can always ask for "after N" and miss nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from app.models import Attachment, Conversation, Message, Rating
from app.models.db import write_transaction
from app.services import audit, read_marks, search
from app.services.attachments import StoredFile
from app.services.authors import author_names, last_writer, new_writers, writer_before
from app.services.crypto import Cipher, new_token, token_hash
from app.services.metrics import Metrics
from app.services.realtime import Broker, Event, publish_now, revocation, visitor_topic
from app.services.status import ThreadFilter, status_fields
from app.services.text import preview
from app.services.threads import THREADS_PAGE, ThreadCursor, page_rows
from app.services.views import AttachmentView, Catchup, MessageView, ThreadView
from app.services.visitor_tokens import revoked_tokens, visitor_token_matches

SENDERS = ("visitor", "admin", "system", "note")  # note: agents only (app/services/notes.py)
PREVIEW_MARKS = {"image": "\U0001f4f7", "audio": "\U0001f3a4"}  # camera, microphone
QUEUE_FILES_SQL = (
    "INSERT INTO file_deletion (backend, storage_key, attempts, last_error, next_try_at) "
    "SELECT backend, storage_key, 0, '', 0 FROM attachment"
)


class Outbox(Protocol):
    """Where visitor messages are queued for another channel (Telegram), in the transaction that stores them."""

    async def enqueue(self, conversation_id: int, message_id: int) -> None: ...

    def kick(self) -> None: ...


class _Replayed(Exception):
    """Inside the storing transaction: a message with this client id committed meanwhile; roll back."""


class ConversationNotFound(LookupError):
    """No such conversation (or it was deleted)."""


class StagedUploadNotFound(LookupError):
    """No upload waiting under that id (never made, already used, or deleted)."""


class ConversationService:
    def __init__(
        self,
        engine: Any,
        cipher: Cipher,
        broker: Broker,
        page_size: int = 50,
        *,
        file_url: Callable[[str, str, str], str] = lambda public_id, backend, key: f"/media/{public_id}",
        files_queued: Callable[[], None] = lambda: None,
        outbox: Outbox | None = None,
        metrics: Metrics | None = None,
        assignee_for_new: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._broker = broker
        self.page_size = page_size
        self._file_url = file_url
        self._files_queued = files_queued
        self._outbox = outbox
        self._metrics = metrics or Metrics()
        self._assignee_for_new = assignee_for_new  # round robin (app/services/status.py), inside start()

    def _attachment(self, row: dict[str, Any]) -> AttachmentView:
        fields = {name: row[name] for name in ("public_id", "kind", "content_type", "width", "height", "file_name")}
        return AttachmentView(**fields, url=self._file_url(row["public_id"], row["backend"], row["storage_key"]))

    async def _views(self, rows: list[dict[str, Any]]) -> list[MessageView]:
        """Messages with their attachments, authors' names and group starts (an extra query for each, per batch)."""
        attachments: dict[int, AttachmentView] = {}
        if rows:
            found = await Attachment.select().where(Attachment.message.is_in([r["id"] for r in rows]))
            attachments = {a["message"]: self._attachment(a) for a in found}
        names = await author_names({r["author"] for r in rows if r.get("author")})
        starts = await new_writers(rows)
        return [
            MessageView(
                id=row["id"],
                conversation_id=row["conversation"],
                seq=row["seq"],
                sender=row["sender"],
                text=self._cipher.decrypt(row["body"]),
                created_at=row["created_at"],
                attachment=attachments.get(row["id"]),
                author=row.get("author"),
                author_name=names.get(row.get("author") or "", ""),
                new_author=starts[i],
            )
            for i, row in enumerate(rows)
        ]

    async def attachment(self, public_id: str) -> tuple[int | None, AttachmentView, str, str] | None:
        """(conversation id, view, backend, storage key) of an attachment, for the access-checked download."""
        row = await Attachment.select().where(Attachment.public_id == public_id).first()
        if row is None:
            return None
        return row["conversation"], self._attachment(row), row["backend"], row["storage_key"]

    def _thread(self, row: dict[str, Any]) -> ThreadView:
        return ThreadView(
            id=row["id"],
            display_name=row["display_name"],
            last_activity_at=row["last_activity_at"],
            last_seq=row["last_seq"],
            cleared_seq=row["cleared_seq"],
            unread_count=row.get("reader_unread", row["unread_count"]),  # the reading agent's, when listed for one
            preview=self._cipher.decrypt(row["last_preview"]),
            last_sender=row["last_sender"],
            ended=row["ended_at"] is not None,
            source_url=row.get("source_url"),
            source_referrer=row.get("source_referrer"),
            created_at=row.get("created_at"),
            message_count=row.get("message_count", 0),
            email=self._cipher.decrypt(row["email"]) if row.get("email") else None,
            **status_fields(row),
        )

    async def id_for_visitor_token(self, token: str) -> int | None:
        """Only the id (a message post needs no more: nothing to decrypt)."""
        row = await Conversation.select(Conversation.id).where(visitor_token_matches(token)).first()
        return row["id"] if row else None

    async def by_visitor_token(self, token: str) -> ThreadView | None:
        row = await Conversation.select().where(visitor_token_matches(token)).first()
        return self._thread(row) if row else None

    async def get(self, conversation_id: int) -> ThreadView | None:
        row = await Conversation.select().where(Conversation.id == conversation_id).first()
        return self._thread(row) if row else None

    async def page(
        self, conversation_id: int, before_seq: int | None = None, *, limit: int | None = None
    ) -> tuple[list[MessageView], bool]:
        """Newest page of messages (or the page before `before_seq`), oldest first, and whether more exist."""
        size = limit or self.page_size
        query = Message.select().where(Message.conversation == conversation_id)
        if before_seq is not None:
            query = query.where(Message.seq < before_seq)
        rows = await query.order_by(Message.seq, ascending=False).limit(size + 1)
        return await self._views(list(reversed(rows[:size]))), len(rows) > size

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
            messages=await self._views(rows),
        )

    async def threads(
        self,
        before: ThreadCursor | None = None,
        limit: int = THREADS_PAGE,
        view: ThreadFilter | None = None,
        reader: str | None = None,
    ) -> tuple[list[ThreadView], ThreadCursor | None]:
        """A page of the conversation list, newest activity first, and the cursor of the next page (or None);
        with `view`, only the conversations it matches; with `reader` (a username), unread counts are theirs."""
        rows, next_page = await page_rows(before, limit, view, reader)
        return [self._thread(r) for r in rows], next_page

    async def open_threads(self, limit: int = 20) -> list[ThreadView]:
        """Conversations not ended, most recently active first."""
        rows = await (
            Conversation.select()
            .where(Conversation.ended_at.is_null())
            .order_by(Conversation.last_activity_at, ascending=False)
            .limit(limit)
        )
        return [self._thread(r) for r in rows]

    async def total_unread(self, agent: str | None = None) -> int:
        """Unread visitor messages everywhere: for `agent` (a username), or not yet read by everyone."""
        if agent is not None:
            return await read_marks.total_unread(agent)
        rows = await Conversation.select(Conversation.unread_count).where(Conversation.unread_count > 0)
        return sum(r["unread_count"] for r in rows)

    async def start(
        self,
        display_name: str,
        language: str,
        *,
        source_url: str | None = None,
        source_referrer: str | None = None,
        email: str | None = None,
    ) -> tuple[ThreadView, str]:
        """A new conversation and the visitor's bearer token (only its hash is stored). `source_url` and
        `source_referrer` (already validated by the caller) say where an embedded chat was opened; `email` is
        the visitor's checked address (stored encrypted)."""
        token = new_token()
        moment = datetime.now(UTC)
        async with write_transaction(self._engine):
            assignee = await self._assignee_for_new() if self._assignee_for_new is not None else None
            rows = await Conversation.insert(
                Conversation(
                    visitor_token_hash=token_hash(token),
                    display_name=display_name,
                    language=language,
                    created_at=moment,
                    last_activity_at=moment,
                    last_preview="",
                    source_url=source_url,
                    source_referrer=source_referrer,
                    assignee=assignee,
                    email=self._cipher.encrypt(email) if email else None,
                )
            ).returning(Conversation.id)
            conversation_id = rows[0]["id"]
            await search.index_new_visitor(self._cipher, conversation_id, display_name, email)
            events = [Event("thread", conversation_id)]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        thread = await self.get(conversation_id)
        assert thread is not None
        return thread, token

    async def post(
        self,
        conversation_id: int,
        sender: str,
        text: str,
        attachment: StoredFile | None = None,
        *,
        staged_id: str | None = None,
        on_stored: Callable[[int], Awaitable[None]] | None = None,
        client_msg_id: str | None = None,
        author: str | None = None,
    ) -> MessageView:
        """Store a message (text, a new file, or a file staged earlier through the API) and wake every stream
        that shows it. `on_stored(message_id)` runs inside the storing transaction: what it writes commits with
        the message or not at all (if it raises, nothing is stored).

        With `client_msg_id` (checked by the caller: app.services.idempotency) the post is idempotent: if this
        conversation already has a message with that id, nothing is stored and that message is returned
        (`replayed=True`) — also when copies race, since the check runs under the conversation's row lock and
        a unique index backs it."""
        if sender not in SENDERS:
            raise ValueError(f"unknown sender {sender!r}")
        if client_msg_id is not None:
            earlier = await self.by_client_msg_id(conversation_id, client_msg_id)
            if earlier is not None:
                return earlier
            try:
                return await self._post(
                    conversation_id, sender, text, attachment, staged_id, on_stored, client_msg_id, author
                )
            except Exception:
                # Another copy won the race (seen under the lock, or refused by the unique index): answer as it did.
                earlier = await self.by_client_msg_id(conversation_id, client_msg_id)
                if earlier is None:
                    raise
                return earlier
        return await self._post(conversation_id, sender, text, attachment, staged_id, on_stored, None, author)

    async def by_client_msg_id(self, conversation_id: int, client_msg_id: str) -> MessageView | None:
        """The message stored earlier under this client id in this conversation (`replayed=True`), if any."""
        rows = await Message.select().where(
            (Message.conversation == conversation_id) & (Message.client_msg_id == client_msg_id)
        )
        views = await self._views(rows)
        return replace(views[0], replayed=True) if views else None

    async def _post(
        self,
        conversation_id: int,
        sender: str,
        text: str,
        attachment: StoredFile | None,
        staged_id: str | None,
        on_stored: Callable[[int], Awaitable[None]] | None,
        client_msg_id: str | None,
        author: str | None,
    ) -> MessageView:
        kind = attachment.checked.kind if attachment else None
        author_name = (await author_names({author})).get(author, "") if author else ""
        if staged_id is not None:
            staged = (
                await Attachment.select(Attachment.kind)
                .where((Attachment.public_id == staged_id) & Attachment.message.is_null())
                .first()
            )
            if staged is None:
                raise StagedUploadNotFound(staged_id)
            kind = staged["kind"]
        moment = datetime.now(UTC)
        body = self._cipher.encrypt(text)
        summary = f"{PREVIEW_MARKS[kind]} {text}".strip() if kind else text
        changes: dict[Any, Any] = {
            Conversation.last_seq: Conversation.last_seq + 1,
            Conversation.last_activity_at: moment,
            Conversation.unread_count: Conversation.unread_count + (1 if sender == "visitor" else 0),
            Conversation.visitor_count: Conversation.visitor_count + (1 if sender == "visitor" else 0),
            Conversation.last_preview: self._cipher.encrypt(preview(summary)),
            Conversation.last_sender: sender,
        }
        if sender == "note":  # takes a number, changes nothing the visitor or the list shows (app/services/notes.py)
            changes = {Conversation.last_seq: Conversation.last_seq + 1}
        if sender == "visitor":  # a visitor writing again reopens a conversation support had closed, snoozed, resolved
            changes[Conversation.ended_at] = None
            changes[Conversation.status] = "open"
            changes[Conversation.snoozed_until] = None
        last = await last_writer(conversation_id)
        async with write_transaction(self._engine):
            # The row lock taken here orders every writer of this conversation until commit.
            updated = await (
                Conversation.update(changes).where(Conversation.id == conversation_id).returning(Conversation.last_seq)
            )
            if not updated:
                raise ConversationNotFound(conversation_id)
            seq = updated[0]["last_seq"]
            before = await writer_before(conversation_id, seq, last)
            if client_msg_id is not None:
                mine = (Message.conversation == conversation_id) & (Message.client_msg_id == client_msg_id)
                if await Message.exists().where(mine):
                    raise _Replayed(client_msg_id)
            inserted = await Message.insert(
                Message(
                    conversation=conversation_id,
                    seq=seq,
                    sender=sender,
                    body=body,
                    created_at=moment,
                    client_msg_id=client_msg_id,
                    author=author,
                )
            ).returning(Message.id)
            await search.index_message(self._cipher, conversation_id, message_id := inserted[0]["id"], sender, text)
            view = None
            if attachment is not None:
                view = await self._insert_attachment(attachment, moment, conversation_id, message_id)
            elif staged_id is not None:
                claimed = await (
                    Attachment.update({Attachment.conversation: conversation_id, Attachment.message: message_id})
                    .where((Attachment.public_id == staged_id) & Attachment.message.is_null())
                    .returning(*Attachment.all_columns())
                )
                if not claimed:  # another request took it in the meantime: nothing of this message is kept
                    raise StagedUploadNotFound(staged_id)
                view = self._attachment(claimed[0])
            if on_stored is not None:
                await on_stored(message_id)
            queued = self._outbox if sender == "visitor" else None
            if queued is not None:  # never lost: the delivery row commits with the message or not at all
                await queued.enqueue(conversation_id, message_id)
            stored = MessageView(
                message_id,
                conversation_id,
                seq,
                sender,
                text,
                moment,
                view,
                author=author,
                author_name=author_name,
                new_author=before is not None and before != (sender, author or ""),
            )
            # Stamped just before COMMIT: delivery latency (metrics) is measured from here, in every process.
            events = [Event("msg", conversation_id, seq, sender, at=time.time(), message=stored)]
            await self._broker.publish_in_transaction(events)
        # Memory broker: wake streams only now, after commit, so they send what was committed. No await between
        # the commit and this dispatch: events reach the hub in commit order.
        self._broker.after_commit(events)
        self._metrics.message_stored(sender)
        if queued is not None:
            queued.kick()
        return stored

    async def stage(self, stored: StoredFile) -> AttachmentView:
        """A file uploaded through the JSON API, waiting for the message (api/messages/send) that carries it."""
        return await self._insert_attachment(stored, datetime.now(UTC), None, None)

    async def _insert_attachment(
        self, stored: StoredFile, moment: datetime, conversation_id: int | None, message_id: int | None
    ) -> AttachmentView:
        checked = stored.checked
        row: dict[str, Any] = {
            "public_id": stored.public_id,
            "kind": checked.kind,
            "content_type": checked.content_type,
            "width": checked.width,
            "height": checked.height,
            "backend": stored.backend,
            "storage_key": stored.storage_key,
            "file_name": checked.file_name,
        }
        await Attachment.insert(
            Attachment(
                conversation=conversation_id, message=message_id, size=len(checked.data), created_at=moment, **row
            )
        )
        return self._attachment(row)

    async def clear(self, conversation_id: int, *, actor: str = audit.SYSTEM, ip: str = "") -> None:
        """Delete the messages; the clear itself takes a sequence number so streams replay it. The audit log gets
        who cleared which conversation (never what was in it)."""
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
            # The files' rows go with the messages; their bytes are queued for deletion in the same commit.
            await Conversation.raw(QUEUE_FILES_SQL + " WHERE conversation = {}", conversation_id)
            await Message.delete().where(Message.conversation == conversation_id)
            await Rating.update({Rating.comment: ""}).where(Rating.conversation == conversation_id)  # visitor's words
            await audit.record("conversation.cleared", str(conversation_id), actor=actor, ip=ip)
            events = [Event("clear", conversation_id, updated[0]["last_seq"])]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        self._files_queued()

    async def clear_all(self, *, actor: str = audit.SYSTEM, ip: str = "") -> int:
        """Delete every conversation and message; returns how many conversations went."""
        async with write_transaction(self._engine):
            count = await Conversation.count()
            await Conversation.raw(QUEUE_FILES_SQL)
            await Message.delete(force=True)
            await Conversation.delete(force=True)
            await audit.record("conversation.cleared_all", "", actor=actor, ip=ip, conversations=count)
            events = [Event("clear_all")]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        self._files_queued()
        return count

    async def end(self, conversation_id: int, note: str) -> None:
        """The visitor left (or support closed it): a system message (`note` is an i18n key), and the conversation
        is marked ended."""
        await self.post(conversation_id, "system", note)
        await Conversation.update({Conversation.ended_at: datetime.now(UTC)}).where(Conversation.id == conversation_id)
        await publish_now(self._broker, [Event("thread", conversation_id)])

    async def leave(self, conversation_id: int, note: str) -> None:
        """The visitor ended the chat: their token is revoked first (the old cookie no longer reads, posts, streams
        or downloads; the conversation and its messages stay for support), their open streams end in every
        process, then the conversation ends as in `end`."""
        async with write_transaction(self._engine):
            # Every token goes: the start's and the resume link's (app/services/visitor_tokens.py).
            await Conversation.update(revoked_tokens()).where(Conversation.id == conversation_id)
            events = [revocation(visitor_topic(conversation_id))]
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        await self.end(conversation_id, note)

    async def mark_read(self, conversation_id: int, agent: str | None = None) -> None:
        """Read for `agent` (a username) only, or for everyone (a reply from Telegram)."""
        if agent is not None:
            if await read_marks.mark_read(conversation_id, agent):
                await publish_now(self._broker, [Event("thread", conversation_id)])
            return
        changed = await (
            Conversation.update({Conversation.unread_count: 0})
            .where((Conversation.id == conversation_id) & (Conversation.unread_count > 0))
            .returning(Conversation.id)
        )
        if changed:
            await publish_now(self._broker, [Event("thread", conversation_id)])
