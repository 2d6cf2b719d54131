"""Incoming updates: what the admin (or a stranger) writes, edits or taps, queued by a test, and getUpdates
(offsets, limits, long polls, allowed_updates, the conflicts between pollers) that hands them out."""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from tests.fakes.telegram.files import Files
from tests.fakes.telegram.protocol import (
    NOT_BY_DEFAULT,
    OTHER_POLL_CONFLICT,
    POLL_TIMEOUT_LIMIT,
    WEBHOOK_POLL_CONFLICT,
    Abort,
    ApiError,
    Call,
    Pending,
    Poll,
    bad_request,
    param_int,
    param_json,
    update_kind,
    utf16_len,
)


class Updates(Files):
    """Updates a test queues, and getUpdates."""

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update (a copy, with the next update_id set in it and in the given dict); returns the id. Long
        polls waiting now are woken."""
        with self._changed:
            self._next_update_id += 1
            update_id = self._next_update_id
            update["update_id"] = update_id
            stored = copy.deepcopy(update)
            self.updates[update_id] = stored
            self._pending.append(Pending(update_id, stored))
            self._changed.notify_all()
            return update_id

    def redeliver(self, update_id: int) -> None:
        """Queue the same update (same update_id) again, as Telegram may: the next getUpdates returns it even if
        its offset already confirmed it."""
        with self._changed:
            update = self.updates[update_id]
            self._pending = [entry for entry in self._pending if entry.update_id != update_id]
            self._pending.append(Pending(update_id, update, forced=True))
            self._changed.notify_all()

    def admin_message(
        self,
        text: str | None = None,
        *,
        chat_id: int | str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        caption: str | None = None,
        photo: bytes | None = None,
        voice: bytes | None = None,
        audio: bytes | None = None,
        document: tuple[str, str, bytes] | None = None,
        from_user: dict[str, Any] | None = None,
        duration: int = 1,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """A message the admin writes (in the admin chat unless `chat_id`), as a `{"update_id", "message"}`
        update, queued unless `deliver=False` (then it has no update_id until pushed). `reply_to` embeds the stored
        message as reply_to_message; in a topic (`thread_id`) without `reply_to`, reply_to_message is the topic's
        creation message, as Telegram does. Media: `photo` (a list of PhotoSize, largest last = these bytes),
        `voice` (audio/ogg), `audio` (audio/mpeg), `document=(filename, mime, bytes)`."""
        chat = self._chat_for(chat_id)
        if from_user is None:
            from_user = self.admin_user if chat["id"] == int(self.chat_id) else self._user_for_chat(chat)
        body: dict[str, Any] = {}
        if text is not None:
            body["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                body["entities"] = [{"offset": 0, "length": utf16_len(command), "type": "bot_command"}]
        if photo is not None:
            body["photo"] = self._photo_sizes(photo, strict=False)
        if voice is not None:
            stored = self._store_file(voice, kind="voice", folder="voice", extension=".oga")
            stored.media = {
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
            }
            body["voice"] = stored.media
        if audio is not None:
            stored = self._store_file(audio, kind="audio", folder="music", extension=".mp3")
            stored.media = {
                "duration": duration,
                "file_name": "audio.mp3",
                "mime_type": "audio/mpeg",
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
            }
            body["audio"] = stored.media
        if document is not None:
            filename, mime, data = document
            extension = "." + filename.rsplit(".", 1)[1] if "." in filename else ""
            stored = self._store_file(data, kind="document", folder="documents", extension=extension)
            stored.media = {
                "file_name": filename,
                "mime_type": mime,
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
            }
            body["document"] = stored.media
        if caption is not None:
            body["caption"] = caption
        with self._lock:
            topic = None
            if thread_id is not None:
                if thread_id not in self.topics:
                    raise ValueError(f"no topic {thread_id}")
                topic = self.topics[thread_id]
            reply = None
            if reply_to is not None:
                if reply_to not in self.messages:
                    raise ValueError(f"no stored message {reply_to}")
                reply = self.messages[reply_to]
                if topic is None and reply.get("is_topic_message"):
                    topic = self.topics.get(reply.get("message_thread_id", 0))  # a reply lands in its topic
            message = self._new_message(sender=from_user, chat=chat, topic=topic, reply=reply, body=body)
        update: dict[str, Any] = {"message": copy.deepcopy(message)}
        if deliver:
            self.push_update(update)
        return update

    def stranger_message(
        self, text: str | None = "hello", *, user_id: int | None = None, deliver: bool = True, **media: Any
    ) -> dict[str, Any]:
        """A message from someone else's private chat (not the admin chat); `media` as for `admin_message`."""
        if user_id is None:
            with self._lock:
                self._next_user_id += 1
                user_id = self._next_user_id
        return self.admin_message(text, chat_id=user_id, deliver=deliver, **media)

    def edited_message(self, message_id: int, text: str, *, deliver: bool = True) -> dict[str, Any]:
        """An `edited_message` update for a stored message (its text replaced, `edit_date` set)."""
        with self._lock:
            message = copy.deepcopy(self.messages[message_id])
            message["text"] = text
            message["edit_date"] = int(time.time())
            self.messages[message_id] = message
        update: dict[str, Any] = {"edited_message": copy.deepcopy(message)}
        if deliver:
            self.push_update(update)
        return update

    def callback_query(
        self, data: str = "button", *, message_id: int | None = None, deliver: bool = True
    ) -> dict[str, Any]:
        """A `callback_query` update from the admin (on a stored message, when given)."""
        query: dict[str, Any] = {
            "id": str(secrets.randbelow(10**18)),
            "from": self.admin_user,
            "chat_instance": str(secrets.randbelow(10**18)),
            "data": data,
        }
        if message_id is not None:
            with self._lock:
                query["message"] = copy.deepcopy(self.messages[message_id])
        update: dict[str, Any] = {"callback_query": query}
        if deliver:
            self.push_update(update)
        return update

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = update_kind(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in NOT_BY_DEFAULT

    def _confirm(self, offset: int | None) -> None:
        # under the lock
        if offset is None:
            return
        if offset < 0:
            keep = sorted(entry.update_id for entry in self._pending)[offset:]
            self._pending = [entry for entry in self._pending if entry.update_id in keep]
            return
        self._pending = [entry for entry in self._pending if entry.update_id >= offset or entry.forced]

    def _take_batch(self, limit: int) -> list[dict[str, Any]]:
        # under the lock: the oldest `limit` pending updates (not removed: only an offset confirms them)
        self._pending = [entry for entry in self._pending if self._allowed(entry.update)]
        batch = sorted(self._pending, key=lambda entry: entry.update_id)[:limit]
        for entry in batch:
            entry.forced = False
        return [copy.deepcopy(entry.update) for entry in batch]

    def _api_get_updates(self, call: Call) -> Any:
        params = call.params
        offset = param_int(params, "offset")
        limit = min(max(param_int(params, "limit") or 100, 1), 100)
        timeout = min(max(param_int(params, "timeout") or 0, 0), POLL_TIMEOUT_LIMIT)
        allowed = param_json(params, "allowed_updates", "allowed updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        poll = Poll(call.client, offset, limit, timeout, started=time.monotonic())
        with self._changed:
            self.polls.append(poll)
            try:
                if self.webhook is not None:
                    raise ApiError(409, WEBHOOK_POLL_CONFLICT)
                for other in self.polls:
                    if other is not poll and other.ended is None and other.terminated is None:
                        other.terminated = OTHER_POLL_CONFLICT
                        self.poll_conflicts += 1
                self._changed.notify_all()
                if allowed is not None:
                    self._allowed_updates = [str(kind) for kind in allowed]
                self._confirm(offset)
                deadline = poll.started + timeout
                while True:
                    if poll.aborted:
                        raise Abort
                    if poll.terminated:
                        raise ApiError(409, poll.terminated)
                    batch = self._take_batch(limit)
                    remaining = deadline - time.monotonic()
                    if batch or remaining <= 0:
                        break
                    self._changed.wait(remaining)
                poll.status, poll.update_ids = 200, [update["update_id"] for update in batch]
                return batch
            except ApiError as exc:
                poll.status, poll.description = exc.status, exc.description
                raise
            finally:
                poll.ended = time.monotonic()
