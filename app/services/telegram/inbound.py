"""What arrives from Telegram: the admin's replies, files and commands, each update handled exactly once.

Only messages from TELEGRAM_CHAT_ID count; every other chat is ignored (the old app opened a conversation for
any stranger). A message finds its conversation, in this order, through:
1. its forum topic (when the chat is a forum supergroup);
2. the message it replies to (any message the bot sent for a conversation, or an earlier reply);
3. a `#thread:<id>` tag in its text (the tag is removed);
anything else gets a short help reply. A reply from a Telegram account linked to an enabled agent is authored by
that agent; from anyone else it is "Support" (no author). The team commands (/assign, /resolve, /snooze) are in
commands.py. The one message taken from other chats: `/start <token>` in a private chat, which links the sender's
Telegram account to an agent (accounts.py). Photos, voice notes, audio and documents go through the same checks as
uploads (type from the bytes, size limits, images re-encoded) before the visitor sees them; a refused file gets a
polite answer in Telegram.

Exactly once: every update's `update_id` is recorded in `telegram_update`, in the same transaction as the message
it brings, so an update delivered twice (a webhook retry, a poller that died before moving its offset) stores
nothing the second time. Replies in Telegram (help, refusals, command answers) are sent after that commit: at
most once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from app.clock import now
from app.i18n import translator
from app.models import TelegramOutbox, TelegramUpdate
from app.services.attachments import AttachmentService
from app.services.conversations import ConversationNotFound, ConversationService
from app.services.messaging import MessageSender, SendRefused
from app.services.presence import ADMIN, PresenceTracker, conversation_subject
from app.services.status import Triage
from app.services.telegram import commands, mapping
from app.services.telegram.accounts import TelegramAccounts, agent_of
from app.services.telegram.client import DOWNLOAD_LIMIT, TelegramClient, TelegramError
from app.services.uploads import UploadRejected
from app.services.visitor_names import display_name

log = logging.getLogger("sohbet.telegram")

THREAD_TAG = re.compile(r"#thread:(\d{1,12})\b", re.IGNORECASE)
THREADS_LISTED = 20
REPLY_LINK_WAIT_SECONDS = 5.0

HELP = (
    "Sohbet bot. To answer a visitor:\n"
    "• reply to one of their messages (swipe left on it), or\n"
    "• write in their topic (forum groups), or\n"
    "• add #thread:<id> to your message.\n"
    "Photos, voice notes, audio and documents reach the visitor too.\n\n"
    "Commands:\n"
    "/threads – open conversations\n"
    "/online – visitors see support online\n"
    "/offline – visitors see support offline\n"
    "/auto – online while a dashboard is open (the default)\n"
    "/close – close the conversation (in its topic, or as a reply)\n"
    "/assign @username, /assign me, /assign – assign or unassign it (linked accounts)\n"
    "/resolve – mark it resolved (linked accounts)\n"
    "/snooze 2h – snooze it for 30m, 2h, 1d... (linked accounts)\n"
    "/note TEXT – a private note only agents see (linked accounts)\n"
    "/help – this help"
)
UNROUTED = (
    "This message did not go to any visitor. Reply to a visitor's message, write in their topic, "
    "or add #thread:<id>. /help for more."
)
UNSUPPORTED = "Only text, photos, voice notes, audio and documents can be sent to a visitor. Nothing was sent."
LINKED = "Linked to {name}. Your replies in the support chat are now signed with this name."
LINK_REFUSED = (
    "Sorry, this link does not work: it was already used or it expired (links work for an hour). "
    "Ask for a new one on your account page in Sohbet."
)
UNSUPPORTED_CONTENT = ("video", "video_note", "animation", "sticker", "contact", "location", "venue", "poll", "dice")


class AlreadyHandled(Exception):
    """Another request or process recorded this update first."""


@dataclass
class _TelegramFile:
    """A file of a Telegram message, for MessageSender: downloaded only when the text has passed, and only when
    the size Telegram announces fits."""

    client: TelegramClient
    file_id: str
    filename: str
    size: int
    attachments: AttachmentService

    async def read(self) -> bytes:
        limit = max(self.attachments.max_image_bytes, self.attachments.max_audio_bytes, 0)
        if self.size > limit or self.size > DOWNLOAD_LIMIT:
            raise UploadRejected(413, "upload.too_large")
        return await self.client.download(self.file_id, DOWNLOAD_LIMIT)


class UpdateProcessor:
    def __init__(
        self,
        client: TelegramClient,
        *,
        chat_id: str,
        public_url: str,
        conversations: ConversationService,
        attachments: AttachmentService,
        presence: PresenceTracker,
        messaging: MessageSender,
        is_forum: Any,
        accounts: TelegramAccounts,
        triage: Triage,
    ) -> None:
        self._client = client
        self._chat_id = chat_id
        self._public_url = public_url.rstrip("/")
        self._conversations = conversations
        self._attachments = attachments
        self._presence = presence
        self._messaging = messaging
        self._is_forum = is_forum
        self._accounts = accounts
        self._triage = triage
        self._english = translator("en")
        self.last_update_at: float | None = None

    # -- the entry point -------------------------------------------------------------------------------

    async def handle(self, update: Any) -> str:
        """Handle one update; returns what became of it. Raises when it should be tried again later (the database
        or Telegram is away): nothing of it was kept."""
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return "invalid"
        update_id: int = update["update_id"]
        if await TelegramUpdate.exists().where(TelegramUpdate.update_id == update_id):
            return "duplicate"
        self.last_update_at = now()
        message = update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            return await self._done(update_id, "ignored")  # edits, button presses, channel posts: not for us
        text = message.get("text") if isinstance(message.get("text"), str) else None
        link_token = _start_token(message, text)
        if link_token is not None:
            return await self._link(update_id, message, link_token)
        if str(message["chat"].get("id")) != self._chat_id:
            log.info(json.dumps({"event": "telegram.stranger_ignored", "chat_type": message["chat"].get("type")}))
            return await self._done(update_id, "stranger")
        if isinstance(message.get("from"), dict) and message["from"].get("is_bot"):
            return await self._done(update_id, "ignored")
        try:
            if text is not None and text.startswith("/"):
                return await self._command(update_id, message, text)
            return await self._reply_to_visitor(update_id, message, text or _str(message.get("caption")))
        except AlreadyHandled:
            return "duplicate"

    async def give_up(self, update_id: int) -> None:
        """An update that keeps failing is recorded as done, so it cannot block the ones after it."""
        if not await TelegramUpdate.exists().where(TelegramUpdate.update_id == update_id):
            await self._done(update_id, "error")

    async def _done(self, update_id: int, outcome: str) -> str:
        """Record the update as handled (before any answer is sent: answers go at most once)."""
        try:
            await TelegramUpdate.insert(TelegramUpdate(update_id=update_id, outcome=outcome, processed_at=now()))
        except Exception:
            if await TelegramUpdate.exists().where(TelegramUpdate.update_id == update_id):
                raise AlreadyHandled from None
            raise
        return outcome

    async def _link(self, update_id: int, message: dict[str, Any], token: str) -> str:
        """`/start <token>` in a private chat: link the sender's account to the agent the token was made for."""
        user_id, chat_id = _sender_id(message), str(message["chat"].get("id"))
        name = await self._accounts.complete(token, user_id, chat_id) if isinstance(user_id, int) else None
        outcome = await self._done(update_id, "linked" if name else "link_refused")
        try:
            await self._client.call(
                "sendMessage", chat_id=chat_id, text=LINKED.format(name=name) if name else LINK_REFUSED
            )
        except TelegramError as exc:
            log.warning(json.dumps({"event": "telegram.answer_failed", "error_code": exc.error_code}))
        return outcome

    async def _answer(self, message: dict[str, Any], text: str) -> None:
        """A short answer in the admin chat (in the same topic), best effort."""
        thread_id = message.get("message_thread_id") if message.get("is_topic_message") else None
        try:
            await self._client.call(
                "sendMessage",
                chat_id=self._chat_id,
                text=text,
                message_thread_id=thread_id,
                reply_parameters={"message_id": message.get("message_id"), "allow_sending_without_reply": True},
                link_preview_options={"is_disabled": True},
            )
        except TelegramError as exc:
            log.warning(json.dumps({"event": "telegram.answer_failed", "error_code": exc.error_code}))

    # -- routing ---------------------------------------------------------------------------------------

    async def _route(self, message: dict[str, Any], text: str) -> tuple[int | None, str, str | None]:
        """(conversation id or None, the text without a routing tag, an explanation when a tag was wrong)."""
        if message.get("is_topic_message") and isinstance(message.get("message_thread_id"), int):
            found = await mapping.conversation_of_topic(self._chat_id, message["message_thread_id"])
            if found is not None:
                return found, text, None
        reply = message.get("reply_to_message")
        if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
            found = await self._conversation_of_reply(reply)
            if found is not None:
                return found, text, None
        tag = THREAD_TAG.search(text)
        if tag is not None:
            conversation_id = int(tag.group(1))
            stripped = (text[: tag.start()] + text[tag.end() :]).strip()
            if await self._conversations.get(conversation_id) is None:
                return None, stripped, f"There is no conversation #{conversation_id}."
            return conversation_id, stripped, None
        return None, text, None

    async def _conversation_of_reply(self, reply: dict[str, Any]) -> int | None:
        """The conversation of the message replied to. The outbox stores a sent message's link only after
        Telegram answers the send, so a reply to the bot's newest message can arrive first: while deliveries are
        in flight, wait a moment for the link rather than answer "not routed". Whether a delivery is in flight is
        read *before* the link: a delivery marks its row delivered and stores the link in one transaction, so when
        none was in flight, every link is there to be found (the other order has a gap: the link missed, then the
        delivery commits, then nothing is in flight any more)."""
        sent_by_a_bot = isinstance(reply.get("from"), dict) and reply["from"].get("is_bot")
        deadline = now() + REPLY_LINK_WAIT_SECONDS
        in_flight = (TelegramOutbox.delivered == False) & TelegramOutbox.failed_at.is_null()  # noqa: E712
        while True:
            waiting = sent_by_a_bot and await TelegramOutbox.exists().where(in_flight)
            found = await mapping.conversation_of_message(self._chat_id, reply["message_id"])
            if found is not None or not waiting or now() >= deadline:
                return found
            await asyncio.sleep(0.1)

    # -- a reply for a visitor -------------------------------------------------------------------------

    async def _reply_to_visitor(self, update_id: int, message: dict[str, Any], text: str) -> str:
        conversation_id, text, problem = await self._route(message, text)
        if conversation_id is None:
            outcome = await self._done(update_id, "unrouted")
            await self._answer(message, problem or UNROUTED)
            return outcome
        file = _file_of(message)
        if (file is None and not text.strip()) or any(field in message for field in UNSUPPORTED_CONTENT):
            outcome = await self._done(update_id, "unsupported")
            await self._answer(message, UNSUPPORTED)
            return outcome
        telegram_message_id = message.get("message_id")

        async def record(_: int) -> None:
            await TelegramUpdate.insert(TelegramUpdate(update_id=update_id, outcome="posted", processed_at=now()))
            if isinstance(telegram_message_id, int):  # replying to one's own reply routes too
                await mapping.link(self._chat_id, telegram_message_id, conversation_id)

        upload = _TelegramFile(self._client, *file, self._attachments) if file is not None else None
        try:
            author = await agent_of(_sender_id(message))
            await self._messaging.send(conversation_id, "admin", text, upload=upload, on_stored=record, author=author)
        except SendRefused as refused:
            if refused.status >= 500:  # storage away: the update is tried again later
                raise refused.__cause__ or refused from None
            if not refused.code.startswith("upload."):
                outcome = await self._done(update_id, "too_long")
                await self._answer(message, "Too long for the chat: at most 4000 characters. Nothing was sent.")
                return outcome
            outcome = await self._done(update_id, "file_refused")
            reason = self._english(f"error.{refused.code}")
            await self._answer(message, f"Sorry, this file cannot be sent to the visitor: {reason} Nothing was sent.")
            return outcome
        except TelegramError as exc:  # the download
            if exc.retryable:
                raise
            outcome = await self._done(update_id, "file_refused")
            await self._answer(message, "Sorry, Telegram would not hand over this file. Nothing was sent.")
            return outcome
        except ConversationNotFound:
            outcome = await self._done(update_id, "gone")
            await self._answer(message, "That conversation no longer exists.")
            return outcome
        except Exception:
            if await TelegramUpdate.exists().where(TelegramUpdate.update_id == update_id):
                raise AlreadyHandled from None  # the same update, stored meanwhile by another request or process
            raise
        await self._conversations.mark_read(conversation_id)
        log.info(json.dumps({"event": "telegram.reply_posted", "conversation": conversation_id}))
        return "posted"

    # -- commands --------------------------------------------------------------------------------------

    async def _command(self, update_id: int, message: dict[str, Any], text: str) -> str:
        word, _, rest = text.partition(" ")
        command = word[1:].split("@", 1)[0].lower()
        outcome = await self._done(update_id, f"/{command}"[:20])
        if command in ("online", "offline", "auto"):
            await self._presence.set_availability(command)
            shown = "online" if await self._presence.is_online(ADMIN) else "offline"
            note = {"online": "until /offline or /auto", "offline": "until /online or /auto"}.get(
                command, "online while a dashboard is open"
            )
            await self._answer(message, f"Visitors now see support {shown} ({note}).")
        elif command == "threads":
            await self._answer(message, await self._threads_text())
        elif command == "close":
            await self._answer(message, await self._close(message, rest))
        elif command in commands.TEAM_COMMANDS:
            await self._answer(message, await self._team_command(message, command, rest))
        else:
            await self._answer(message, HELP)
        return outcome

    async def _threads_text(self) -> str:
        threads = await self._conversations.open_threads(THREADS_LISTED)
        if not threads:
            return "No open conversations."
        online = await self._presence.online_subjects([conversation_subject(t.id) for t in threads])
        lines = []
        for thread in threads:
            state = " · online" if conversation_subject(thread.id) in online else ""
            unread = f" · {thread.unread_count} unread" if thread.unread_count else ""
            link = f"\n  {self._public_url}/admin/threads/{thread.id}" if self._public_url else ""
            lines.append(f"#{thread.id} {display_name(thread, 'en')}{state}{unread}{link}")
        return "Open conversations:\n" + "\n".join(lines)

    async def _team_command(self, message: dict[str, Any], command: str, rest: str) -> str:
        agent = await agent_of(_sender_id(message))
        if agent is None:
            return commands.LINK_FIRST
        conversation_id, argument, problem = await self._route(message, rest)
        if conversation_id is None:
            return problem or commands.where_to_use(command)
        return await commands.run(self._triage, self._conversations, command, conversation_id, argument, agent)

    async def _close(self, message: dict[str, Any], rest: str) -> str:
        conversation_id, _, problem = await self._route(message, rest)
        if conversation_id is None:
            return (
                problem
                or "Use /close in a conversation's topic, as a reply to one of its messages, or as /close #thread:<id>."
            )
        thread = await self._conversations.get(conversation_id)
        if thread is None:
            return "That conversation no longer exists."
        if thread.ended:
            return f"The conversation with {display_name(thread, 'en')} is already closed."
        await self._conversations.end(conversation_id, "chat.closed_note")
        if await self._is_forum():
            thread_id = await mapping.topic_of(conversation_id, self._chat_id)
            if thread_id is not None:
                try:
                    await self._client.call("closeForumTopic", chat_id=self._chat_id, message_thread_id=thread_id)
                except TelegramError as exc:
                    log.warning(json.dumps({"event": "telegram.close_topic_failed", "error_code": exc.error_code}))
        return f"Closed the conversation with {display_name(thread, 'en')} (#{conversation_id})."


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _sender_id(message: dict[str, Any]) -> Any:
    sender = message.get("from")
    return sender.get("id") if isinstance(sender, dict) else None


def _start_token(message: dict[str, Any], text: str | None) -> str | None:
    """The token of `/start <token>` written in a private chat (a deep link opened), else None."""
    if message["chat"].get("type") != "private" or text is None:
        return None
    word, _, rest = text.strip().partition(" ")
    if word.split("@", 1)[0].lower() != "/start" or not rest.strip():
        return None
    return rest.strip()


def _file_of(message: dict[str, Any]) -> tuple[str, str, int] | None:
    """(file_id, a file name, size) of the file a message carries, if any."""
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        sizes = [p for p in photo if isinstance(p, dict) and isinstance(p.get("file_id"), str)]
        if sizes:
            largest = max(sizes, key=lambda p: (p.get("width") or 0) * (p.get("height") or 0))
            return largest["file_id"], "photo.jpg", int(largest.get("file_size") or 0)
    for field, default_name in (("voice", "voice.ogg"), ("audio", "audio"), ("document", "file")):
        item = message.get(field)
        if isinstance(item, dict) and isinstance(item.get("file_id"), str):
            return item["file_id"], _str(item.get("file_name")) or default_name, int(item.get("file_size") or 0)
    return None
