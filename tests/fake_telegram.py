"""A fake Telegram Bot API on loopback, for the app's httpx client pointed at it with TELEGRAM_API_BASE.

It is a real HTTP server, not a mock: the app posts to `/bot<token>/<method>` exactly as it would to
api.telegram.org, and it answers the way Telegram does (`{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ...}`), with Telegram's error texts. Parameters may come as JSON,
urlencoded or multipart bodies (or a GET query string); a wrong token gets Telegram's 401 `Unauthorized`, an unknown
method 404 `Not Found`. Everything is guarded by one lock, and every call is recorded in `calls`.

The admin chat: `FakeTelegram(chat_id=...)` is a private chat ("424242") or, with `forum=True`, a supergroup with
topics ("-1001234567890" unless given). Only that chat can be written to ("Bad Request: chat not found").

Methods:
- `getMe`, `getChat`.
- `sendMessage`, `sendPhoto`, `sendAudio`, `sendVoice`, `sendDocument`: text ≤ 4096 and caption ≤ 1024 UTF-16 code
  units; `message_thread_id` (forum topics only), `reply_parameters` / `reply_to_message_id` (the replied message
  must exist unless `allow_sending_without_reply`). The media part is a multipart upload (recorded in
  `Call.files`), a file_id, an `attach://<part>` or an http(s) URL (fetched). sendPhoto checks the bytes are an
  image ("Bad Request: IMAGE_PROCESS_FAILED"). Results are full Message objects, also kept in `messages`. A
  message in a topic carries message_thread_id, is_topic_message and (unless it replies to something else) the
  topic's creation message as reply_to_message; a reply to a topic message lands in that topic. Closed topics still
  take the bot's messages (it is an admin); deleted ones answer `deleted_topic_error`.
- `createForumTopic`, `editForumTopic`, `closeForumTopic`, `reopenForumTopic`, `deleteForumTopic`.
- `getUpdates` (offset confirms, limit, long-poll `timeout` ≤ 50 s, `allowed_updates`; 409 while a webhook is set;
  a second poll terminates a waiting one with 409), `setWebhook`, `deleteWebhook`, `getWebhookInfo`.
- `getFile`, and downloads at `GET /file/bot<token>/<file_path>` (recorded in `downloads`).
- `setMyCommands`, `getMyCommands`, `deleteMyCommands`, `deleteMessage`, `setMessageReaction`.

Test-side helpers:
- Scripting: `fail_next(n, 429, retry_after=1)`, `fail_next(n, 500, method="sendPhoto")`, `hang_next(n)` (sleep
  `hang_seconds`, longer than the client's timeout, then answer 504 — nothing happens), `down()` (connection
  refused; a waiting long poll is dropped without an answer), `up()` (back on the same port). `method=None` scripts
  apply to any Bot API call, including getUpdates; `method="download"` scripts apply to file downloads only.
- Looking: `calls` (each `Call` has method, params, status, result, description, files {part: (filename,
  content type, bytes)}, client, at), `calls_to(method)`, `sent_texts()`, `sent(method=None, thread_id=None)`,
  `captions()`, `sent_message(id)`, `messages`, `topics`, `polls`, `poll_conflicts`, `max_concurrent_polls`,
  `pending_update_ids()`, `downloads`, `webhook`, `webhook_deliveries`, `files`, `commands`, `reactions`,
  `deleted_messages`, `errors`.
- Incoming: `push_update(update)`, `redeliver(update_id)`, `admin_message(...)`, `stranger_message(...)`,
  `edited_message(...)`, `callback_query(...)`, `deliver_webhook(update)`, `flush_webhook()`. Pushed updates are
  never POSTed to a webhook on their own: a test calls `deliver_webhook`/`flush_webhook` (setWebhook accepts
  http:// URLs, unlike Telegram, so loopback servers can be the target).
- Topics and files: `create_topic(name)`, `delete_topic(thread_id)`, `close_topic(thread_id)`,
  `deleted_topic_error`, `add_file(data)`, `file_bytes(file_id)`, `strict_photos` (False: sendPhoto takes any
  bytes).
- `reset()` forgets everything but the token and chat configuration (and `hang_seconds`).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import mimetypes
import re
import secrets
import socket
import threading
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from PIL import Image

PRIVATE_CHAT_ID = "424242"
FORUM_CHAT_ID = "-1001234567890"
FORUM_ADMIN_ID = 5550001
TEXT_LIMIT = 4096  # UTF-16 code units
CAPTION_LIMIT = 1024
TOPIC_NAME_LIMIT = 128
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files
UPLOAD_LIMIT = 50 * 1024 * 1024  # multipart uploads
POLL_TIMEOUT_LIMIT = 50
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
NOT_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}  # allowed_updates=[] leaves these out
MEDIA_METHODS = {"sendPhoto": "photo", "sendAudio": "audio", "sendVoice": "voice", "sendDocument": "document"}
SEND_METHODS = ("sendMessage", *MEDIA_METHODS)
FILE_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "voice": "AwACAgIAAxkBAAI", "audio": "CQACAgIAAxkBAAI"}
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
WEBHOOK_POLL_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
OTHER_POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
SET_WEBHOOK_CONFLICT = "Conflict: terminated by setWebhook request"
THREAD_NOT_FOUND = "Bad Request: message thread not found"


@dataclass
class Call:
    method: str
    token_ok: bool
    params: dict[str, Any] = field(default_factory=dict)
    status: int = 0
    at: float = field(default_factory=time.monotonic)
    result: Any = None
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # part name -> (filename, type, bytes)
    description: str | None = None  # Telegram's error text, when not ok
    client: str = ""  # "host:port" of the caller
    answer_delay: float = 0.0  # seconds between handling the call (result visible to tests) and answering it


@dataclass
class Script:
    """Answer the next `count` calls (of `method`, or any when None) with `status` (or hang when `hang`)."""

    count: int
    status: int = 500
    retry_after: int | None = None
    hang: bool = False
    method: str | None = None
    description: str | None = None
    answer_delay: float = 0.0  # > 0: handle the call normally, but answer this much later


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int
    created_message: dict[str, Any]
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def __getitem__(self, key: str) -> Any:  # topic["name"], topic["deleted"] read like the attributes
        return getattr(self, key)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str = "document"  # photo | voice | audio | document: a file_id is only reusable as the same kind
    media: Any = None  # the Message field's value (for a photo: the list of PhotoSize)

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class Poll:
    """One getUpdates call: who, when, what it asked and what it got."""

    client: str
    offset: int | None
    limit: int
    timeout: int
    started: float
    ended: float | None = None
    status: int = 0
    update_ids: list[int] = field(default_factory=list)
    description: str | None = None
    terminated: str | None = None  # set by another poll or setWebhook: answer 409 with this
    aborted: bool = False  # set by down()/stop(): drop the connection


@dataclass
class Download:
    path: str
    token_ok: bool
    status: int
    size: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class WebhookDelivery:
    update_id: int
    url: str
    secret_token: str | None
    status: int
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Pending:
    update_id: int
    update: dict[str, Any]
    forced: bool = False  # redelivered: returned once even below the confirmed offset


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            answer["parameters"] = self.parameters
        return answer


class _Abort(Exception):
    """Drop the connection without answering (the fake went down under a waiting long poll)."""


@dataclass
class _Described:
    result: Any
    description: str


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_form_data(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """(text fields, files) of a multipart/form-data body; a part with a filename is a file:
    `files[name] = (filename, content type, bytes)`."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("no multipart boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        if not name:
            continue
        extended = re.search(r"\bfilename\*=(?:UTF-8|utf-8)''([^;]+)", disposition)
        plain = re.search(r'\bfilename="([^"]*)"', disposition)
        if extended or plain:
            filename = unquote(extended.group(1)) if extended else plain.group(1)  # type: ignore[union-attr]
            files[name.group(1)] = (filename, headers.get("content-type", "application/octet-stream"), content)
        else:
            fields[name.group(1)] = content.decode("utf-8", errors="replace")
    return fields, files


# -- parameter readers (Telegram accepts strings for every scalar) ---------------------------------------------


def _param_int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad_request(f'field "{name}" must be of type Integer')
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise bad_request(f'field "{name}" must be of type Integer')


def _param_bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "false", "0"}:
        return value.strip().lower() in {"true", "1"}
    raise bad_request(f'field "{name}" must be of type Boolean')


def _param_json(params: dict[str, Any], name: str, what: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None
    return value


def _param_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeTelegram:
    def __init__(self, token: str | None = None, chat_id: str | None = None, *, forum: bool = False) -> None:
        self.token = token or f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"
        self.forum = forum
        self.chat_id = str(chat_id) if chat_id is not None else (FORUM_CHAT_ID if forum else PRIVATE_CHAT_ID)
        self.chat_title = "Sohbet support"
        self.calls: list[Call] = []
        self.hang_seconds = 3.0
        self.deleted_topic_error = THREAD_NOT_FOUND
        self.strict_photos = True  # sendPhoto refuses bytes PIL cannot open, as Telegram does
        self._scripts: list[Script] = []
        self._next_message_id = 100
        self._next_update_id = 700_000_000 + secrets.randbelow(1000) * 1000
        self._next_file_number = 0
        self._next_user_id = 900_000_000
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self._clear_state()

    def _clear_state(self) -> None:
        # under the lock (or in __init__)
        self.messages: dict[int, dict[str, Any]] = {}
        self._sent_ids: list[int] = []
        self.deleted_messages: set[int] = set()
        self.topics: dict[int, Topic] = {}
        self.updates: dict[int, dict[str, Any]] = {}  # every update ever pushed, by update_id
        self._pending: list[_Pending] = []
        self._allowed_updates: list[str] | None = None
        self.polls: list[Poll] = []
        self.poll_conflicts = 0
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self.downloads: list[Download] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.reactions: dict[int, list[dict[str, Any]]] = {}
        self.other_chats: dict[int, dict[str, Any]] = {}
        self.errors: list[str] = []  # tracebacks of the fake's own failures (answered 500)

    # -- what the app is configured with ---------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, token: str | None = None) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": token or self.token,
            "TELEGRAM_CHAT_ID": self.chat_id,
            "TELEGRAM_API_BASE": self.api_base,
        }

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        fake = self

        class Handler(FakeHandler):
            pass

        Handler.fake = fake
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._server = server
        self.port = server.server_address[1]
        return self

    def stop(self) -> None:
        with self._changed:
            for poll in self.polls:
                if poll.ended is None:
                    poll.aborted = True
            self._changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def down(self) -> None:
        """Stop listening: every call is refused, as when Telegram is unreachable."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self.start()

    # -- scripting -------------------------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int,
        retry_after: int | None = None,
        method: str | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `count` calls (of `method` only, when given) with `status`: 429 carries
        `retry_after` (default 1); others say `description` (default "Internal Server Error")."""
        with self._lock:
            self._scripts.append(Script(count, status, retry_after, method=method, description=description))

    def hang_next(self, count: int, method: str | None = None) -> None:
        """Sleep `hang_seconds` on the next `count` calls (of `method` only, when given), then answer 504."""
        with self._lock:
            self._scripts.append(Script(count, 504, hang=True, method=method))

    def answer_late(self, count: int, method: str, seconds: float) -> None:
        """Handle the next `count` calls of `method` normally (their result is visible to tests at once) but
        answer them `seconds` later, as a slow network between Telegram and the app would."""
        with self._lock:
            self._scripts.append(Script(count, 200, method=method, answer_delay=seconds))

    def reset(self) -> None:
        """Forget calls, scripts, updates, topics, webhook, files, messages, poll stats. Keeps the token, the chat
        configuration, `hang_seconds`, and the id counters (update and message ids keep increasing)."""
        with self._changed:
            self._scripts.clear()
            self.calls.clear()
            running = [poll for poll in self.polls if poll.ended is None]
            self._clear_state()
            self.polls.extend(running)  # a poll waiting right now still counts for overlap checks
            self.deleted_topic_error = THREAD_NOT_FOUND
            self.strict_photos = True

    def _take_script(self, method: str) -> Script | None:
        with self._lock:
            self._scripts = [script for script in self._scripts if script.count > 0]
            for script in self._scripts:
                if script.method is None and method == "download":
                    continue
                if script.method is None or script.method == method:
                    script.count -= 1
                    return script
            return None

    # -- what tests look at ----------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def login_codes(self) -> list[str]:
        """The Sohbet login codes the bot delivered, oldest first."""
        return [m.group(1) for text in self.sent_texts() for m in re.finditer(r"Sohbet login code: (\d{6})", text)]

    def sent_texts(self) -> list[str]:
        """The text of every message actually delivered (answered 200), in order."""
        return [str(call.params.get("text", "")) for call in self.calls_to("sendMessage") if call.status == 200]

    def sent(self, method: str | None = None, *, thread_id: int | None = None) -> list[Call]:
        """The successful send calls (sendMessage/Photo/Audio/Voice/Document, or only `method`), in order;
        `call.result` is the Message. With `thread_id`, only those that landed in that topic."""
        with self._lock:
            calls = [
                call
                for call in self.calls
                if call.status == 200 and (call.method == method if method else call.method in SEND_METHODS)
            ]
        if thread_id is not None:
            calls = [call for call in calls if (call.result or {}).get("message_thread_id") == thread_id]
        return calls

    def captions(self) -> list[str]:
        """The caption of every media message delivered, in order ("" for one without a caption)."""
        return [str(call.params.get("caption") or "") for call in self.sent() if call.method in MEDIA_METHODS]

    def sent_message(self, message_id: int) -> dict[str, Any] | None:
        """A message the bot sent (the Message object it got back), or None."""
        with self._lock:
            return self.messages.get(message_id) if message_id in self._sent_ids else None

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            return self.files[file_id].data

    @property
    def max_concurrent_polls(self) -> int:
        """The most getUpdates calls that were ever in progress at once (1 for a well-behaved single poller)."""
        with self._lock:
            events: list[tuple[float, int]] = []
            for poll in self.polls:
                events.append((poll.started, 1))
                events.append((poll.ended if poll.ended is not None else float("inf"), -1))
        events.sort()  # at equal times an end (-1) sorts before a start (+1)
        best = current = 0
        for _, delta in events:
            current += delta
            best = max(best, current)
        return best

    def pending_update_ids(self) -> list[int]:
        with self._lock:
            return sorted(entry.update_id for entry in self._pending)

    # -- chats and users -------------------------------------------------------------------------------------

    def chat(self) -> dict[str, Any]:
        """The admin chat as it appears in messages."""
        if self.forum:
            return {"id": int(self.chat_id), "title": self.chat_title, "is_forum": True, "type": "supergroup"}
        return {"id": int(self.chat_id), "type": "private", "first_name": "Admin"}

    @property
    def admin_user(self) -> dict[str, Any]:
        user_id = FORUM_ADMIN_ID if self.forum else int(self.chat_id)
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": "Admin",
            "username": "sohbet_admin",
            "language_code": "en",
        }

    def _chat_for(self, chat_id: int | str | None) -> dict[str, Any]:
        if chat_id is None or str(chat_id) == self.chat_id:
            return self.chat()
        number = int(chat_id)
        with self._lock:
            if number not in self.other_chats:
                if number > 0:
                    self.other_chats[number] = {"id": number, "type": "private", "first_name": "Stranger"}
                else:
                    self.other_chats[number] = {"id": number, "title": "Some group", "type": "group"}
            return self.other_chats[number]

    def _bot(self) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Sohbet test bot",
            "username": "sohbet_test_bot",
        }

    # -- topics, files (test side) ---------------------------------------------------------------------------

    def create_topic(self, name: str, icon_color: int = TOPIC_COLORS[0]) -> Topic:
        """A topic created in the admin forum (as if by the admin in the app). Returns it."""
        with self._lock:
            if not self.forum:
                raise ValueError("the chat is not a forum")
            message = self._new_message(
                sender=self.admin_user,
                chat=self.chat(),
                body={"forum_topic_created": {"name": name, "icon_color": icon_color}},
            )
            thread_id = message["message_id"]
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            topic = Topic(thread_id, name, icon_color, message)
            self.topics[thread_id] = topic
            return topic

    def delete_topic(self, thread_id: int) -> None:
        """The topic is deleted (as if by the admin in the app): sends into it get `deleted_topic_error`."""
        with self._lock:
            self.topics[thread_id].deleted = True

    def close_topic(self, thread_id: int) -> None:
        with self._lock:
            self.topics[thread_id].closed = True

    def add_file(self, data: bytes, *, file_path_hint: str = "file.bin", kind: str = "document") -> tuple[str, str]:
        """Store a file the bot can getFile and download: (file_id, file_unique_id). A `file_path_hint` with a
        folder ("voice/x.oga") keeps it; the extension is kept."""
        folder, _, name = file_path_hint.rpartition("/")
        extension = "." + name.rsplit(".", 1)[1] if "." in name else ""
        stored = self._store_file(data, kind=kind, folder=folder or "documents", extension=extension)
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.file_size}
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self._lock:
            if kind == "photo":
                stored.media = [{**ids, "width": 1280, "height": 960}]
            elif kind == "voice":
                stored.media = {"duration": 1, "mime_type": "audio/ogg", **ids}
            else:
                stored.media = {"file_name": name, "mime_type": mime, **ids}
        return stored.file_id, stored.file_unique_id

    def _store_file(self, data: bytes, *, kind: str, folder: str, extension: str) -> StoredFile:
        with self._lock:
            self._next_file_number += 1
            number = self._next_file_number
            file_id = FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + secrets.token_urlsafe(40)[:52]
            unique = ("AQAD" if kind == "photo" else "AgAD") + secrets.token_urlsafe(12)[:12]
            stored = StoredFile(file_id, unique, data, f"{folder}/file_{number}{extension}", kind)
            self.files[file_id] = stored
            self._files_by_path[stored.file_path] = stored
            return stored

    # -- incoming updates (test side) ------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update (a copy, with the next update_id set in it and in the given dict); returns the id. Long
        polls waiting now are woken."""
        with self._changed:
            self._next_update_id += 1
            update_id = self._next_update_id
            update["update_id"] = update_id
            stored = copy.deepcopy(update)
            self.updates[update_id] = stored
            self._pending.append(_Pending(update_id, stored))
            self._changed.notify_all()
            return update_id

    def redeliver(self, update_id: int) -> None:
        """Queue the same update (same update_id) again, as Telegram may: the next getUpdates returns it even if
        its offset already confirmed it."""
        with self._changed:
            update = self.updates[update_id]
            self._pending = [entry for entry in self._pending if entry.update_id != update_id]
            self._pending.append(_Pending(update_id, update, forced=True))
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

    def _user_for_chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        if chat["type"] == "private":
            return {"id": chat["id"], "is_bot": False, "first_name": chat.get("first_name", "Stranger")}
        return {"id": 900_000_001, "is_bot": False, "first_name": "Stranger"}

    # -- webhook (test side) ---------------------------------------------------------------------------------

    def deliver_webhook(
        self,
        update: dict[str, Any] | int,
        url: str | None = None,
        secret: str | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]:
        """POST the update (a dict, or a pushed update_id) as JSON to the webhook URL (or `url`), with header
        X-Telegram-Bot-Api-Secret-Token = the webhook's secret (or `secret`; `secret=""` sends none). Returns
        (HTTP status, body); status 0 when no answer came. A 2xx removes the update from the pending queue; an
        update without an update_id gets the next one (without being queued). Recorded in `webhook_deliveries`."""
        with self._lock:
            if isinstance(update, int):
                update = self.updates[update]
            target = url or (self.webhook.url if self.webhook else None)
            token = secret if secret is not None else (self.webhook.secret_token if self.webhook else None)
        if not target:
            raise ValueError("no webhook set and no url given")
        if "update_id" not in update:
            with self._lock:
                self._next_update_id += 1
                update["update_id"] = self._next_update_id
                self.updates[update["update_id"]] = copy.deepcopy(update)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        request = urllib.request.Request(target, json.dumps(update).encode(), headers=headers, method="POST")
        try:
            with _no_proxy_opener().open(request, timeout=timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except (urllib.error.URLError, OSError):
            status, body = 0, b""
        with self._lock:
            self.webhook_deliveries.append(WebhookDelivery(update["update_id"], target, token, status, body))
            if 200 <= status < 300:
                self._pending = [entry for entry in self._pending if entry.update_id != update["update_id"]]
            elif self.webhook is not None:
                self.webhook.last_error_date = int(time.time())
                self.webhook.last_error_message = (
                    f"Wrong response from the webhook: {status}" if status else "Connection refused"
                )
        return status, body

    def flush_webhook(self) -> list[tuple[int, int]]:
        """Deliver the pending updates to the webhook, oldest first, as Telegram would; stop at the first one not
        answered 2xx (it stays pending). Returns [(update_id, status), ...]."""
        results: list[tuple[int, int]] = []
        while True:
            with self._lock:
                if self.webhook is None:
                    raise ValueError("no webhook set")
                self._pending = [entry for entry in self._pending if self._allowed(entry.update)]
                if not self._pending:
                    return results
                entry = min(self._pending, key=lambda pending: pending.update_id)
            status, _ = self.deliver_webhook(entry.update)
            results.append((entry.update_id, status))
            if not 200 <= status < 300:
                return results

    # -- the API ---------------------------------------------------------------------------------------------

    def handle(self, call: Call) -> tuple[int, dict[str, Any]]:
        if not call.token_ok:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        script = self._take_script(call.method)
        if script is not None and script.answer_delay > 0:
            call.answer_delay = script.answer_delay
        elif script is not None:
            return self._scripted(script)
        api = API_METHODS.get(call.method)
        if api is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            result = api(self, call)
        except ApiError as exc:
            return exc.status, exc.answer()
        if isinstance(result, _Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    def _scripted(self, script: Script) -> tuple[int, dict[str, Any]]:
        if script.hang:
            time.sleep(self.hang_seconds)
            return 504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
        if script.status == 429:
            retry_after = script.retry_after or 1
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": script.description or f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
        description = script.description or "Internal Server Error"
        return script.status, {"ok": False, "error_code": script.status, "description": description}

    # ---- chats

    def _check_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if str(chat_id) != self.chat_id:
            raise bad_request("chat not found")
        return self.chat()

    def _api_get_me(self, call: Call) -> Any:
        return {**self._bot(), "can_join_groups": True, "can_read_all_group_messages": False}

    def _api_get_chat(self, call: Call) -> Any:
        chat_id = call.params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if str(chat_id) == self.chat_id:
            chat = self.chat()
        else:
            try:
                number = int(str(chat_id))
            except ValueError:
                raise bad_request("chat not found") from None
            with self._lock:
                if number not in self.other_chats:
                    raise bad_request("chat not found")
                chat = dict(self.other_chats[number])
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    # ---- sending

    def _topic_for_send(self, params: dict[str, Any]) -> Topic | None:
        # under the lock
        thread_id = _param_int(params, "message_thread_id")
        if thread_id is None:
            return None
        topic = self.topics.get(thread_id) if self.forum else None
        if topic is None:
            raise ApiError(400, THREAD_NOT_FOUND)
        if topic.deleted:
            raise ApiError(400, self.deleted_topic_error)
        return topic

    def _reply_for_send(self, params: dict[str, Any]) -> dict[str, Any] | None:
        # under the lock
        reply_parameters = _param_json(params, "reply_parameters", "reply parameters")
        allow_without = _param_bool(params, "allow_sending_without_reply")
        if reply_parameters is not None:
            if not isinstance(reply_parameters, dict) or "message_id" not in reply_parameters:
                raise bad_request("can't parse reply parameters JSON object")
            message_id = _param_int(reply_parameters, "message_id")
            allow_without = allow_without or _param_bool(reply_parameters, "allow_sending_without_reply")
        else:
            message_id = _param_int(params, "reply_to_message_id")
        if message_id is None:
            return None
        message = self.messages.get(message_id)
        if message is None or message_id in self.deleted_messages or message["chat"]["id"] != int(self.chat_id):
            if allow_without:
                return None
            raise bad_request("message to be replied not found")
        return message

    def _api_send(self, call: Call) -> Any:
        params = call.params
        kind = MEDIA_METHODS.get(call.method)
        body: dict[str, Any] = {}
        caption: str | None = None
        if kind is None:
            text = _param_str(params, "text")
            if not text or not text.strip():
                raise bad_request("message text is empty")
            chat = self._check_chat(params)
            if utf16_len(text) > TEXT_LIMIT:
                raise bad_request("message is too long")
            body["text"] = text
        else:
            chat = self._check_chat(params)
            caption = _param_str(params, "caption")
            if caption and utf16_len(caption) > CAPTION_LIMIT:
                raise bad_request("message caption is too long")
        with self._lock:
            topic = self._topic_for_send(params)
            reply = self._reply_for_send(params)
        if kind is not None:
            body[kind] = self._media_for_send(call, kind)
            if caption:
                body["caption"] = caption
        with self._lock:
            if topic is None and reply is not None and reply.get("is_topic_message"):
                topic = self.topics.get(reply.get("message_thread_id", 0))  # a reply lands in its topic
            message = self._new_message(sender=self._bot(), chat=chat, topic=topic, reply=reply, body=body)
            self._sent_ids.append(message["message_id"])
            return copy.deepcopy(message)

    def _new_message(
        self,
        *,
        sender: dict[str, Any],
        chat: dict[str, Any],
        body: dict[str, Any],
        topic: Topic | None = None,
        reply: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            self._next_message_id += 1
            message: dict[str, Any] = {"message_id": self._next_message_id}
            if topic is not None:
                message["message_thread_id"] = topic.thread_id
            message.update({"from": sender, "chat": chat, "date": int(time.time())})
            if topic is not None:
                message["is_topic_message"] = True
            replied = reply if reply is not None else (topic.created_message if topic is not None else None)
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
            message.update(body)
            self.messages[message["message_id"]] = message
            return message

    def _media_for_send(self, call: Call, kind: str) -> Any:
        """The Message field for the uploaded / referenced / fetched file."""
        upload = call.files.get(kind)
        reference = None if upload is not None else _param_str(call.params, kind)
        if reference and reference.startswith("attach://"):
            upload = call.files.get(reference.removeprefix("attach://"))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        elif reference and re.match(r"^https?://", reference):
            upload = self._fetch(reference)
        elif reference:
            with self._lock:
                stored = self.files.get(reference)
                if stored is None or stored.media is None:
                    raise bad_request("wrong file identifier/HTTP URL specified")
                if stored.kind != kind:
                    raise bad_request("type of file mismatch")
                return copy.deepcopy(stored.media)
        if upload is None:
            raise bad_request(f"there is no {kind} in the request")
        filename, content_type, data = upload
        if not data:
            raise bad_request("file must be non-empty")
        if kind == "photo":
            return self._photo_sizes(data, strict=self.strict_photos)
        guessed = mimetypes.guess_type(filename)[0] if filename else None
        mime = content_type if content_type and content_type != "application/octet-stream" else guessed
        duration = _param_int(call.params, "duration") or 1
        if kind == "voice":
            stored = self._store_file(data, kind="voice", folder="voice", extension=".oga")
            media = {"duration": duration, "mime_type": mime or "audio/ogg"}
        elif kind == "audio":
            extension = "." + filename.rsplit(".", 1)[1] if "." in filename else ".mp3"
            stored = self._store_file(data, kind="audio", folder="music", extension=extension)
            media = {"duration": duration, "file_name": filename or "audio.mp3", "mime_type": mime or "audio/mpeg"}
            for name in ("title", "performer"):
                if call.params.get(name):
                    media[name] = str(call.params[name])
        else:
            extension = "." + filename.rsplit(".", 1)[1] if "." in filename else ""
            stored = self._store_file(data, kind="document", folder="documents", extension=extension)
            media = {"file_name": filename or "file", "mime_type": mime or "application/octet-stream"}
        media.update({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(data)})
        stored.media = media
        return copy.deepcopy(media)

    def _fetch(self, url: str) -> tuple[str, str, bytes]:
        try:
            with _no_proxy_opener().open(url, timeout=5) as response:
                data = response.read(UPLOAD_LIMIT + 1)
                content_type = response.headers.get_content_type()
        except (urllib.error.URLError, OSError, ValueError):
            raise bad_request("failed to get HTTP URL content") from None
        if len(data) > UPLOAD_LIMIT:
            raise bad_request("failed to get HTTP URL content")
        return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "file", content_type, data

    def _photo_sizes(self, data: bytes, *, strict: bool) -> list[dict[str, Any]]:
        """A list of PhotoSize, smallest first; the largest is `data` itself. Every size is a stored file."""
        versions: list[tuple[bytes, int, int]] = []
        try:
            with Image.open(io.BytesIO(data)) as picture:
                picture.load()
                width, height = picture.size
                if width + height > 10000 or max(width, height) > 20 * min(width, height):
                    raise bad_request("PHOTO_INVALID_DIMENSIONS")
                for side in (90, 320):
                    small = picture.convert("RGB")
                    small.thumbnail((side, side))
                    output = io.BytesIO()
                    small.save(output, "JPEG")
                    versions.append((output.getvalue(), small.width, small.height))
                    if small.size == picture.size:
                        break
        except ApiError:
            raise
        except Exception:
            if strict:
                raise bad_request("IMAGE_PROCESS_FAILED") from None
            width, height = 1280, 960
            versions = [(data, 90, 68)]
        versions.append((data, width, height))
        sizes = []
        for content, size_width, size_height in versions:
            stored = self._store_file(content, kind="photo", folder="photos", extension=".jpg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(content),
                    "width": size_width,
                    "height": size_height,
                }
            )
        with self._lock:
            for size in sizes:
                self.files[size["file_id"]].media = sizes
        return copy.deepcopy(sizes)

    # ---- topics

    def _forum_topic(self, params: dict[str, Any]) -> Topic:
        # under the lock
        self._check_chat(params)
        if not self.forum:
            raise bad_request("the chat is not a forum")
        thread_id = _param_int(params, "message_thread_id")
        topic = self.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def _api_create_forum_topic(self, call: Call) -> Any:
        params = call.params
        self._check_chat(params)
        if not self.forum:
            raise bad_request("the chat is not a forum")
        name = _param_str(params, "name") or ""
        if not 1 <= len(name) <= TOPIC_NAME_LIMIT:
            raise bad_request("TOPIC_NAME_INVALID")
        icon_color = _param_int(params, "icon_color") or TOPIC_COLORS[0]
        with self._lock:
            message = self._new_message(
                sender=self._bot(),
                chat=self.chat(),
                body={"forum_topic_created": {"name": name, "icon_color": icon_color}},
            )
            thread_id = message["message_id"]
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            emoji = _param_str(params, "icon_custom_emoji_id") or None
            self.topics[thread_id] = Topic(thread_id, name, icon_color, message, icon_custom_emoji_id=emoji)
        result: dict[str, Any] = {"message_thread_id": thread_id, "name": name, "icon_color": icon_color}
        if emoji:
            result["icon_custom_emoji_id"] = emoji
        return result

    def _api_edit_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            name = _param_str(call.params, "name") or ""
            if len(name) > TOPIC_NAME_LIMIT:
                raise bad_request("TOPIC_NAME_INVALID")
            emoji = _param_str(call.params, "icon_custom_emoji_id")
            changed = False
            if name and name != topic.name:
                topic.name, changed = name, True
            if emoji is not None and (emoji or None) != topic.icon_custom_emoji_id:
                topic.icon_custom_emoji_id, changed = emoji or None, True
            if not changed:
                raise bad_request("TOPIC_NOT_MODIFIED")
            return True

    def _api_close_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            if topic.closed:
                raise bad_request("TOPIC_NOT_MODIFIED")
            topic.closed = True
            return True

    def _api_reopen_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            if not topic.closed:
                raise bad_request("TOPIC_NOT_MODIFIED")
            topic.closed = False
            return True

    def _api_delete_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            topic.deleted = True
            return True

    # ---- updates

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = _update_kind(update)
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
        offset = _param_int(params, "offset")
        limit = min(max(_param_int(params, "limit") or 100, 1), 100)
        timeout = min(max(_param_int(params, "timeout") or 0, 0), POLL_TIMEOUT_LIMIT)
        allowed = _param_json(params, "allowed_updates", "allowed updates")
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
                        raise _Abort
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

    def _api_set_webhook(self, call: Call) -> Any:
        params = call.params
        url = _param_str(params, "url") or ""
        if not url:
            return self._api_delete_webhook(call)
        if not re.match(r"^https?://[^/\s]+", url):
            raise bad_request("invalid webhook URL specified")
        secret = _param_str(params, "secret_token") or None
        if secret is not None and not SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = _param_json(params, "allowed_updates", "allowed updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        max_connections = min(max(_param_int(params, "max_connections") or 40, 1), 100)
        drop = _param_bool(params, "drop_pending_updates")
        with self._changed:
            same = (
                self.webhook is not None
                and self.webhook.url == url
                and self.webhook.secret_token == secret
                and (allowed is None or self.webhook.allowed_updates == allowed)
            )
            previous = self.webhook
            self.webhook = Webhook(url, secret, allowed if allowed is not None else None, max_connections)
            if previous is not None and allowed is None:
                self.webhook.allowed_updates = previous.allowed_updates
            if allowed is not None:
                self._allowed_updates = [str(kind) for kind in allowed]
            if drop:
                self._pending.clear()
            for poll in self.polls:
                if poll.ended is None and poll.terminated is None:
                    poll.terminated = SET_WEBHOOK_CONFLICT
            self._changed.notify_all()
        return _Described(True, "Webhook is already set" if same else "Webhook was set")

    def _api_delete_webhook(self, call: Call) -> Any:
        drop = _param_bool(call.params, "drop_pending_updates")
        with self._lock:
            existed = self.webhook is not None
            self.webhook = None
            if drop:
                self._pending.clear()
        return _Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _api_get_webhook_info(self, call: Call) -> Any:
        with self._lock:
            info: dict[str, Any] = {
                "url": self.webhook.url if self.webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if self.webhook is not None:
                info["max_connections"] = self.webhook.max_connections
                if self.webhook.allowed_updates is not None:
                    info["allowed_updates"] = list(self.webhook.allowed_updates)
                if self.webhook.last_error_date is not None:
                    info["last_error_date"] = self.webhook.last_error_date
                    info["last_error_message"] = self.webhook.last_error_message
            return info

    # ---- files

    def _api_get_file(self, call: Call) -> Any:
        file_id = _param_str(call.params, "file_id") or ""
        with self._lock:
            stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    def download(self, token: str, file_path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) for GET /file/bot<token>/<file_path>; recorded in `downloads`."""
        token_ok = token == self.token
        script = self._take_script("download") if token_ok else None
        if script is not None:
            status, answer = self._scripted(script)
            body, content_type = json.dumps(answer).encode(), "application/json"
        else:
            with self._lock:
                stored = self._files_by_path.get(file_path) if token_ok else None
            if stored is None or stored.file_size > DOWNLOAD_LIMIT:
                status, content_type = 404, "application/json"
                body = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()
            else:
                status, body, content_type = 200, stored.data, "application/octet-stream"
        with self._lock:
            self.downloads.append(Download(file_path, token_ok, status, len(body) if status == 200 else 0))
        return status, body, content_type

    # ---- the rest

    def _api_delete_message(self, call: Call) -> Any:
        self._check_chat(call.params)
        message_id = _param_int(call.params, "message_id")
        with self._lock:
            message = self.messages.get(message_id) if message_id is not None else None
            if message is None or message_id in self.deleted_messages or message["chat"]["id"] != int(self.chat_id):
                raise bad_request("message to delete not found")
            self.deleted_messages.add(message_id)  # type: ignore[arg-type]
            return True

    def _api_set_message_reaction(self, call: Call) -> Any:
        self._check_chat(call.params)
        message_id = _param_int(call.params, "message_id")
        reaction = _param_json(call.params, "reaction", "reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("can't parse reaction JSON object")
        with self._lock:
            message = self.messages.get(message_id) if message_id is not None else None
            if message is None or message_id in self.deleted_messages or message["chat"]["id"] != int(self.chat_id):
                raise bad_request("message to react not found")
            self.reactions[message_id] = reaction  # type: ignore[index]
            return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = _param_json(params, "scope", "scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + (_param_str(params, "language_code") or "")

    def _api_set_my_commands(self, call: Call) -> Any:
        commands = _param_json(call.params, "commands", "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self.commands[self._commands_key(call.params)] = [
                {"command": str(c["command"]), "description": str(c["description"])} for c in commands
            ]
        return True

    def _api_get_my_commands(self, call: Call) -> Any:
        with self._lock:
            return copy.deepcopy(self.commands.get(self._commands_key(call.params), []))

    def _api_delete_my_commands(self, call: Call) -> Any:
        with self._lock:
            self.commands.pop(self._commands_key(call.params), None)
        return True


API_METHODS = {
    "getMe": FakeTelegram._api_get_me,
    "getChat": FakeTelegram._api_get_chat,
    "sendMessage": FakeTelegram._api_send,
    "sendPhoto": FakeTelegram._api_send,
    "sendAudio": FakeTelegram._api_send,
    "sendVoice": FakeTelegram._api_send,
    "sendDocument": FakeTelegram._api_send,
    "createForumTopic": FakeTelegram._api_create_forum_topic,
    "editForumTopic": FakeTelegram._api_edit_forum_topic,
    "closeForumTopic": FakeTelegram._api_close_forum_topic,
    "reopenForumTopic": FakeTelegram._api_reopen_forum_topic,
    "deleteForumTopic": FakeTelegram._api_delete_forum_topic,
    "getUpdates": FakeTelegram._api_get_updates,
    "setWebhook": FakeTelegram._api_set_webhook,
    "deleteWebhook": FakeTelegram._api_delete_webhook,
    "getWebhookInfo": FakeTelegram._api_get_webhook_info,
    "getFile": FakeTelegram._api_get_file,
    "deleteMessage": FakeTelegram._api_delete_message,
    "setMessageReaction": FakeTelegram._api_set_message_reaction,
    "setMyCommands": FakeTelegram._api_set_my_commands,
    "getMyCommands": FakeTelegram._api_get_my_commands,
    "deleteMyCommands": FakeTelegram._api_delete_my_commands,
}


class FakeHandler(BaseHTTPRequestHandler):
    fake: FakeTelegram
    server_version = "FakeTelegram/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        split = urlsplit(self.path)
        if split.path.startswith("/file/"):
            self._download(split.path)
            return
        prefix, _, method = split.path.lstrip("/").partition("/")
        token_ok = prefix == f"bot{self.fake.token}"
        if length > UPLOAD_LIMIT:
            self._answer(413, {"ok": False, "error_code": 413, "description": "Request Entity Too Large"})
            return
        params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
        fields, files = self._params(body)
        params.update(fields)
        call = Call(method, token_ok, params, files=files, client="{}:{}".format(*self.client_address[:2]))
        with self.fake._lock:
            self.fake.calls.append(call)
        try:
            status, answer = self.fake.handle(call)
        except _Abort:
            call.status = 0
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:
            with self.fake._lock:
                self.fake.errors.append(traceback.format_exc())
            status, answer = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        call.status, call.result, call.description = status, answer.get("result"), answer.get("description")
        if call.answer_delay:
            time.sleep(call.answer_delay)
        self._answer(status, answer)

    do_GET = do_POST  # Telegram accepts GET with query parameters too; downloads are GET /file/bot<token>/<path>

    def _answer(self, status: int, answer: dict[str, Any]) -> None:
        self._send(status, json.dumps(answer).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a hang past its timeout)
            pass

    def _download(self, path: str) -> None:
        prefix, _, file_path = path.removeprefix("/file/").partition("/")
        status, body, content_type = self.fake.download(prefix.removeprefix("bot"), unquote(file_path))
        self._send(status, body, content_type)

    def _params(self, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]]:
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith("application/json"):
                parsed = json.loads(body or b"{}")
                return (parsed if isinstance(parsed, dict) else {}), {}
            if content_type.startswith("application/x-www-form-urlencoded"):
                return dict(parse_qsl(body.decode(), keep_blank_values=True)), {}
            if content_type.startswith("multipart/form-data"):
                return parse_form_data(content_type, body)
        except ValueError:
            return {}, {}
        return {}, {}
