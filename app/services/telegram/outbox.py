"""The outbox: every visitor message reaches the admin's Telegram chat, in order, once, whatever Telegram does.

The transaction that stores a visitor message also writes a `telegram_outbox` row (`enqueue`); a background
task delivers the rows strictly in id order, as plain text (no `parse_mode`, so nothing the visitor wrote is
interpreted), files as photo / voice / audio / document with the text as caption. When the chat is a forum
supergroup each conversation gets its own topic (created on its first delivery, re-created if someone deleted
it, reopened if it was closed).

Failures keep the row: a 429 waits `retry_after`, 5xx and timeouts back off through `retry_seconds` (the last
repeats), and so does an error that every message would get (bad token, bot removed from the chat) until the
operator fixes it. A row Telegram refuses for its own sake (a 400 about this message) is set aside after three
tries (`failed_at`, logged, counted by the health check) so one bad message cannot block the rest. A row is
claimed with a lease before sending, so two server processes never both send it. The Telegram id of every
message sent for a conversation is stored (`mapping.link`) so the admin's replies find their way back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.clock import now
from app.models import Attachment, Conversation, Message, TelegramLink
from app.models import TelegramOutbox as OutboxRow
from app.models.db import write_transaction
from app.services.background import BackgroundLoop
from app.services.crypto import Cipher
from app.services.telegram import mapping
from app.services.telegram.client import TelegramClient, TelegramError
from app.services.visitor_names import visitor_label

log = logging.getLogger("sohbet.telegram")

TEXT_LIMIT = 4096  # Telegram's limits, in UTF-16 code units
CAPTION_LIMIT = 1024
TOPIC_NAME_LIMIT = 128
ATTACHMENT_MARKS = {"image": "[image]", "audio": "[audio]"}
GIVE_UP_AFTER = 3  # tries of a message Telegram refuses for its own sake
FileSource = Callable[[str, str], Awaitable[bytes | str | None]]  # (backend, key) -> bytes, a URL, or gone


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, room: int) -> str:
    """`text` cut to at most `room` UTF-16 code units (with an ellipsis when cut)."""
    if utf16_length(text) <= room:
        return text
    cut = text[: max(0, room - 1)]
    while cut and utf16_length(cut) > room - 1:
        cut = cut[:-1]
    return cut + "…"


def compose(
    kind: str, display_name: str, text: str, attachment_kind: str | None, link: str, limit: int = TEXT_LIMIT
) -> str:
    """The plain text sent for one visitor message (or the caption of its file)."""
    head = f"🆕 New conversation with {display_name}\n\n" if kind == "new" else ""
    head += f"{display_name}:\n"
    body = " ".join(part for part in (ATTACHMENT_MARKS.get(attachment_kind or ""), text) if part)
    tail = f"\n\n{link}" if link else ""
    return head + fit(body, limit - utf16_length(head) - utf16_length(tail)) + tail


def media_method(kind: str, content_type: str) -> tuple[str, str]:
    """The Bot API method and file field for a stored attachment."""
    if kind == "image":
        return ("sendDocument", "document") if content_type == "image/gif" else ("sendPhoto", "photo")
    if content_type == "audio/ogg":
        return "sendVoice", "voice"
    if content_type in ("audio/mpeg", "audio/mp4"):
        return "sendAudio", "audio"
    return "sendDocument", "document"  # WebM and WAV recordings: Telegram plays neither as a voice note


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What one outbox row sends."""

    conversation_id: int
    display_name: str
    text: str
    attachment: dict[str, Any] | None


class TelegramOutbox(BackgroundLoop):
    loop_name = "telegram-outbox"
    round_failed_event = "telegram.outbox_round_failed"

    IDLE_SECONDS = 30.0  # the loop looks at the queue at least this often (other processes may enqueue)

    def __init__(
        self,
        engine: Any,
        client: TelegramClient,
        cipher: Cipher,
        *,
        chat_id: str,
        public_url: str,
        retry_seconds: tuple[int, ...],
        file_source: FileSource,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._client = client
        self._cipher = cipher
        self._chat_id = chat_id
        self._public_url = public_url.rstrip("/")
        self._retry_seconds = retry_seconds or (5,)
        self._file_source = file_source
        self._lease = client.timeout * 8 + 10  # a claimed row is retried if its sender died
        self._forum: bool | None = None  # learnt from getChat on the first delivery

    # -- in the message's transaction ------------------------------------------------------------------

    async def enqueue(self, conversation_id: int, message_id: int) -> None:
        """Called inside the transaction that stores a visitor message (the conversation row is locked)."""
        seen = await OutboxRow.exists().where(OutboxRow.conversation == conversation_id) or (
            await TelegramLink.exists().where(TelegramLink.conversation == conversation_id)
        )
        await OutboxRow.insert(
            OutboxRow(
                conversation=conversation_id,
                message=message_id,
                kind="message" if seen else "new",
                next_try_at=0.0,
                created_at=now(),
            )
        )

    # -- the background task ---------------------------------------------------------------------------

    async def one_round(self) -> float:
        return await self.deliver_pending()

    @staticmethod
    def _waiting() -> Any:
        return (OutboxRow.delivered == False) & OutboxRow.failed_at.is_null()  # noqa: E712

    async def pending(self) -> int:
        return await OutboxRow.count().where(self._waiting())

    async def backlog(self) -> dict[str, Any]:
        """What is waiting for Telegram: how many, how old the oldest, how many have already failed a try, and how
        many Telegram refused for good."""
        oldest = await OutboxRow.select(OutboxRow.created_at).where(self._waiting()).order_by(OutboxRow.id).first()
        return {
            "undelivered": await OutboxRow.count().where(self._waiting()),
            "failing": await OutboxRow.count().where(self._waiting() & (OutboxRow.attempts > 0)),
            "oldest_seconds": round(now() - oldest["created_at"], 1) if oldest else 0,
            "refused": await OutboxRow.count().where(OutboxRow.failed_at.is_not_null()),
        }

    async def deliver_pending(self) -> float:
        """Deliver due rows in order until the queue is empty or its head must wait; returns how long to wait."""
        while True:
            head = await OutboxRow.select().where(self._waiting()).order_by(OutboxRow.id).first()
            if head is None:
                return self.IDLE_SECONDS
            wait = head["next_try_at"] - now()
            if wait > 0:
                return min(wait, self.IDLE_SECONDS)
            claimed = await (
                OutboxRow.update({OutboxRow.next_try_at: now() + self._lease})
                .where((OutboxRow.id == head["id"]) & self._waiting() & (OutboxRow.next_try_at == head["next_try_at"]))
                .returning(OutboxRow.id)
            )
            if not claimed:  # another process took it
                return 0.5
            outgoing = await self._outgoing(head)
            if outgoing is None:  # the message was deleted (cleared) before it could go
                await OutboxRow.delete().where(OutboxRow.id == head["id"])
                continue
            try:
                sent = await self._send(head, outgoing)
            except TelegramError as exc:
                delay = await self._failed(head, exc)
                if delay > 0:
                    return delay
                continue
            await self._delivered(head, sent)

    async def _outgoing(self, row: dict[str, Any]) -> Outgoing | None:
        message = await Message.select(Message.body).where(Message.id == row["message"]).first()
        conversation = (
            await Conversation.select(Conversation.display_name).where(Conversation.id == row["conversation"]).first()
        )
        if message is None or conversation is None:
            return None
        attachment = await (
            Attachment.select(Attachment.kind, Attachment.content_type, Attachment.backend, Attachment.storage_key)
            .where(Attachment.message == row["message"])
            .first()
        )
        name = visitor_label(conversation["display_name"], row["conversation"], "en")  # the bot speaks English
        return Outgoing(row["conversation"], name, self._cipher.decrypt(message["body"]), attachment)

    def _link(self, conversation_id: int) -> str:
        return f"{self._public_url}/admin/threads/{conversation_id}" if self._public_url else ""

    # -- sending ---------------------------------------------------------------------------------------

    async def is_forum(self) -> bool:
        """Whether the admin chat is a forum supergroup (one topic per conversation); asked once."""
        if self._forum is None:
            chat = await self._client.call("getChat", chat_id=self._chat_id)
            self._forum = bool(isinstance(chat, dict) and chat.get("is_forum"))
        return self._forum

    async def _new_topic(self, out: Outgoing) -> int:
        name = fit(f"{out.display_name} · #{out.conversation_id}", TOPIC_NAME_LIMIT)
        topic = await self._client.call("createForumTopic", chat_id=self._chat_id, name=name)
        thread_id = int(topic["message_thread_id"])
        await mapping.save_topic(out.conversation_id, self._chat_id, thread_id)
        log.info(json.dumps({"event": "telegram.topic_created", "conversation": out.conversation_id}))
        return thread_id

    async def _send(self, row: dict[str, Any], out: Outgoing) -> list[int]:
        """Send one row; the Telegram ids of what was sent."""
        kind = row["kind"]
        if not await self.is_forum():
            return await self._send_into(row, out, kind, None)
        thread_id = await mapping.topic_of(out.conversation_id, self._chat_id)
        if thread_id is None:
            thread_id, kind = await self._new_topic(out), "new"
        try:
            return await self._send_into(row, out, kind, thread_id)
        except TelegramError as exc:
            if exc.topic_closed:  # /close closed it; the visitor wrote again
                await self._client.call("reopenForumTopic", chat_id=self._chat_id, message_thread_id=thread_id)
            elif exc.topic_gone:  # someone deleted the topic in Telegram: a new one, announced as new
                await mapping.forget_topic(out.conversation_id)
                thread_id, kind = await self._new_topic(out), "new"
            else:
                raise
            return await self._send_into(row, out, kind, thread_id)

    async def _send_text(self, text: str, thread_id: int | None, reply_to: int | None = None) -> int:
        result = await self._client.call(
            "sendMessage",
            chat_id=self._chat_id,
            text=text,
            message_thread_id=thread_id,
            reply_parameters={"message_id": reply_to} if reply_to else None,
            link_preview_options={"is_disabled": True},
        )
        return int(result["message_id"])

    async def _send_into(self, row: dict[str, Any], out: Outgoing, kind: str, thread_id: int | None) -> list[int]:
        link = self._link(out.conversation_id)
        attachment = out.attachment
        if attachment is None:
            return [await self._send_text(compose(kind, out.display_name, out.text, None, link), thread_id)]
        caption = compose(kind, out.display_name, out.text, None, link, CAPTION_LIMIT)
        text_fits = caption == compose(kind, out.display_name, out.text, None, link, TEXT_LIMIT * 2)
        if not text_fits:  # the file with a short caption, then the whole text as a reply to it
            caption = compose(kind, out.display_name, "", None, link, CAPTION_LIMIT)
        file_message = row["telegram_message_id"]  # set when an earlier try sent the file but not the text
        if file_message is None:
            source = await self._file_source(attachment["backend"], attachment["storage_key"])
            method, field = media_method(attachment["kind"], attachment["content_type"])
            if source is None:  # the file is gone (storage lost it): the text still goes, marked
                text = compose(kind, out.display_name, out.text, attachment["kind"], link)
                return [await self._send_text(text, thread_id)]
            if isinstance(source, bytes):
                extension = attachment["storage_key"].rsplit(".", 1)[-1]
                upload: tuple[str, bytes, str] | str = (f"{field}.{extension}", source, attachment["content_type"])
            else:
                upload = source
            try:
                result = await self._client.upload(
                    method, field, upload, chat_id=self._chat_id, caption=caption, message_thread_id=thread_id
                )
            except TelegramError as exc:
                if exc.retryable or exc.about_the_chat or exc.topic_gone or exc.topic_closed:
                    raise
                # Telegram refused the file itself (dimensions, format): the text goes, marked, with the link.
                text = compose(kind, out.display_name, out.text, attachment["kind"], link)
                return [await self._send_text(text, thread_id)]
            file_message = int(result["message_id"])
            if text_fits:
                return [file_message]
            await OutboxRow.update({OutboxRow.telegram_message_id: file_message}).where(OutboxRow.id == row["id"])
        text = compose("message", out.display_name, out.text, None, "")
        return [file_message, await self._send_text(text, thread_id, reply_to=file_message)]

    # -- outcomes --------------------------------------------------------------------------------------

    async def _failed(self, row: dict[str, Any], exc: TelegramError) -> float:
        """Record a failed try; how long the queue waits (0: this row was set aside, go on with the next)."""
        attempts = row["attempts"] + 1
        error = f"{exc.error_code or ''} {exc.description}".strip()[:200]
        refused = not exc.retryable and not exc.about_the_chat
        if refused and attempts >= GIVE_UP_AFTER:
            await OutboxRow.update(
                {OutboxRow.attempts: attempts, OutboxRow.last_error: error, OutboxRow.failed_at: now()}
            ).where(OutboxRow.id == row["id"])
            log.error(
                json.dumps(
                    {
                        "event": "telegram.deliver_refused",
                        "outbox_id": row["id"],
                        "conversation": row["conversation"],
                        "error_code": exc.error_code,
                        "error": exc.description[:100],
                    }
                )
            )
            return 0.0
        if exc.retry_after is not None:
            delay = float(max(exc.retry_after, 1))
        elif exc.retryable or refused:
            delay = float(self._retry_seconds[min(attempts - 1, len(self._retry_seconds) - 1)])
        else:  # a bad token, a wrong chat: the operator must fix it; meanwhile the slowest pace
            delay = float(self._retry_seconds[-1])
        await OutboxRow.update(
            {OutboxRow.attempts: attempts, OutboxRow.last_error: error, OutboxRow.next_try_at: now() + delay}
        ).where(OutboxRow.id == row["id"])
        log.warning(
            json.dumps(
                {
                    "event": "telegram.deliver_failed",
                    "outbox_id": row["id"],
                    "conversation": row["conversation"],
                    "attempts": attempts,
                    "retry_in": delay,
                    "error_code": exc.error_code,
                    "error": exc.description[:100],
                    "retryable": exc.retryable,
                }
            )
        )
        return delay

    async def _delivered(self, row: dict[str, Any], telegram_ids: list[int]) -> None:
        moment = now()
        async with write_transaction(self._engine):
            await OutboxRow.update(
                {
                    OutboxRow.delivered: True,
                    OutboxRow.delivered_at: moment,
                    OutboxRow.telegram_message_id: telegram_ids[0],
                    OutboxRow.attempts: row["attempts"] + 1,
                }
            ).where(OutboxRow.id == row["id"])
            for telegram_id in telegram_ids:
                await mapping.link(self._chat_id, telegram_id, row["conversation"])
        log.info(
            json.dumps({"event": "telegram.delivered", "outbox_id": row["id"], "conversation": row["conversation"]})
        )
