"""The fake Telegram's vocabulary: its limits and error texts, the records it keeps (calls, polls, files,
topics, webhook deliveries), Telegram's error answer, and readers for parameters that come as strings."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

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
class Pending:
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


class Abort(Exception):
    """Drop the connection without answering (the fake went down under a waiting long poll)."""


@dataclass
class Described:
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


def param_int(params: dict[str, Any], name: str) -> int | None:
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


def param_bool(params: dict[str, Any], name: str) -> bool:
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


def param_json(params: dict[str, Any], name: str, what: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None
    return value


def param_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def no_proxy_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))
