"""Telegram Bot API over httpx: the shared client, login codes, and the outbox that delivers visitor messages.

- `TelegramClient`: one `httpx.AsyncClient` whose base URL holds the bot token (opened and closed in the app's
  lifespan). `call(method, **params)` returns Telegram's `result` or raises `TelegramError`. The token is part of
  every URL, so nothing here ever logs a URL or lets an httpx exception (which carries the request) escape.
- `TelegramCodeSender`: the admin's login codes, sent to TELEGRAM_CHAT_ID.
- `TelegramOutbox`: the transaction that stores a visitor message also writes a `telegram_outbox` row
  (`enqueue`); a background task delivers the rows strictly in id order, as plain text (no `parse_mode`, so
  nothing the visitor wrote is interpreted). Failures keep the row: a 429 waits `retry_after`, anything else
  backs off through `retry_seconds` (the last repeats). A row is claimed with a lease before sending, so two
  server processes do not both send it. Each delivered message's Telegram id is stored in `telegram_link`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import httpx

from app.models import Attachment, Conversation, Message, TelegramLink
from app.models import TelegramOutbox as OutboxRow
from app.models.db import write_transaction
from app.services.auth import CodeNotDelivered
from app.services.crypto import Cipher
from app.services.realtime import now

log = logging.getLogger("sohbet.telegram")

TEXT_LIMIT = 4096  # Telegram's limit for a message, in UTF-16 code units
ATTACHMENT_MARKS = {"image": "[image]", "audio": "[audio]"}


class TelegramError(Exception):
    """A Bot API call that did not succeed. `error_code` is Telegram's (or the HTTP status, or 0 when no answer
    came); `retryable` for 429, 5xx, timeouts and connection errors. Never carries the URL (it holds the token)."""

    def __init__(
        self,
        method: str,
        description: str,
        *,
        error_code: int = 0,
        retry_after: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(f"{method}: {error_code or ''} {description}".strip())
        self.method = method
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.retryable = retryable


class TelegramClient:
    def __init__(self, api_base: str, token: str, *, timeout: float = 10.0) -> None:
        self._base_url = f"{api_base.rstrip('/')}/bot{token}/"
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    @property
    def timeout(self) -> float:
        return self._timeout

    async def start(self) -> None:
        self._http = httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout, follow_redirects=False)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def call(self, method: str, **params: Any) -> Any:
        """POST `params` as JSON to `method`; Telegram's `result`, or TelegramError."""
        if self._http is None:
            raise TelegramError(method, "client not started", retryable=True)
        try:
            response = await self._http.post(method, json={k: v for k, v in params.items() if v is not None})
        except httpx.TimeoutException:
            raise TelegramError(method, "timeout", retryable=True) from None
        except httpx.HTTPError as exc:  # connection refused, reset, protocol errors: the request's URL stays here
            raise TelegramError(method, type(exc).__name__, retryable=True) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 200 and body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code") if isinstance(body.get("error_code"), int) else response.status_code
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after") if isinstance(parameters.get("retry_after"), int) else None
        raise TelegramError(
            method,
            str(body.get("description") or f"HTTP {response.status_code}")[:200],
            error_code=code,
            retry_after=retry_after if code == 429 else None,
            retryable=code == 429 or code >= 500,
        )


class TelegramCodeSender:
    """Login codes go to the admin's Telegram chat. A failure raises CodeNotDelivered (the code is never logged)."""

    available = True

    def __init__(self, client: TelegramClient, chat_id: str, code_seconds: int) -> None:
        self._client = client
        self._chat_id = chat_id
        self._minutes = max(1, code_seconds // 60)

    async def send_code(self, username: str, code: str) -> None:
        text = f"Sohbet login code: {code}\nFor: {username}\nValid for {self._minutes} minutes. Never share it."
        try:
            await self._client.call("sendMessage", chat_id=self._chat_id, text=text)
        except TelegramError as exc:
            raise CodeNotDelivered(exc.error_code, exc.description) from None


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


def compose(kind: str, display_name: str, text: str, attachment_kind: str | None, link: str) -> str:
    """The plain text sent for one visitor message."""
    head = f"🆕 New conversation with {display_name}\n\n" if kind == "new" else ""
    head += f"{display_name}:\n"
    body = " ".join(part for part in (ATTACHMENT_MARKS.get(attachment_kind or ""), text) if part)
    tail = f"\n\n{link}" if link else ""
    return head + fit(body, TEXT_LIMIT - utf16_length(head) - utf16_length(tail)) + tail


class TelegramOutbox:
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
    ) -> None:
        self._engine = engine
        self._client = client
        self._cipher = cipher
        self._chat_id = chat_id
        self._public_url = public_url.rstrip("/")
        self._retry_seconds = retry_seconds or (5,)
        self._lease = client.timeout * 4 + 10  # a claimed row is retried if its sender died
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- in the message's transaction ------------------------------------------------------------------

    async def enqueue(self, conversation_id: int, message_id: int) -> None:
        """Called inside the transaction that stores a visitor message (the conversation row is locked)."""
        seen = await OutboxRow.exists().where(OutboxRow.conversation == conversation_id) or (
            await TelegramLink.exists().where(TelegramLink.conversation == conversation_id)
        )
        moment = now()
        await OutboxRow.insert(
            OutboxRow(
                conversation=conversation_id,
                message=message_id,
                kind="message" if seen else "new",
                next_try_at=0.0,
                created_at=moment,
            )
        )

    def kick(self) -> None:
        self._wake.set()

    # -- the background task ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._deliver_forever(), name="sohbet-telegram-outbox")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _deliver_forever(self) -> None:
        wait = 0.0  # rows left by an earlier run go first
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.05))
            self._wake.clear()
            try:
                wait = await self.deliver_pending()
            except Exception as exc:  # the database may be away: next round
                wait = self.IDLE_SECONDS
                log.warning(json.dumps({"event": "telegram.outbox_round_failed", "error": type(exc).__name__}))

    async def pending(self) -> int:
        return await OutboxRow.count().where(OutboxRow.delivered == False)  # noqa: E712

    async def backlog(self) -> dict[str, Any]:
        """What is waiting for Telegram: how many, how old the oldest, how many have already failed a try."""
        waiting = OutboxRow.delivered == False  # noqa: E712
        oldest = await OutboxRow.select(OutboxRow.created_at).where(waiting).order_by(OutboxRow.id).first()
        return {
            "undelivered": await OutboxRow.count().where(waiting),
            "failing": await OutboxRow.count().where(waiting & (OutboxRow.attempts > 0)),
            "oldest_seconds": round(now() - oldest["created_at"], 1) if oldest else 0,
        }

    async def deliver_pending(self) -> float:
        """Deliver due rows in order until the queue is empty or its head must wait; returns how long to wait."""
        while True:
            head = await (
                OutboxRow.select()
                .where(OutboxRow.delivered == False)  # noqa: E712
                .order_by(OutboxRow.id)
                .first()
            )
            if head is None:
                return self.IDLE_SECONDS
            wait = head["next_try_at"] - now()
            if wait > 0:
                return min(wait, self.IDLE_SECONDS)
            claimed = await (
                OutboxRow.update({OutboxRow.next_try_at: now() + self._lease})
                .where(
                    (OutboxRow.id == head["id"])
                    & (OutboxRow.delivered == False)  # noqa: E712
                    & (OutboxRow.next_try_at == head["next_try_at"])
                )
                .returning(OutboxRow.id)
            )
            if not claimed:  # another process took it
                return 0.5
            text = await self._text(head)
            if text is None:  # the message was deleted (cleared) before it could go
                await OutboxRow.delete().where(OutboxRow.id == head["id"])
                continue
            try:
                result = await self._client.call("sendMessage", chat_id=self._chat_id, text=text)
            except TelegramError as exc:
                return await self._failed(head, exc)
            await self._delivered(head, result)

    async def _text(self, row: dict[str, Any]) -> str | None:
        message = await Message.select(Message.body).where(Message.id == row["message"]).first()
        conversation = (
            await Conversation.select(Conversation.display_name).where(Conversation.id == row["conversation"]).first()
        )
        if message is None or conversation is None:
            return None
        attachment = await Attachment.select(Attachment.kind).where(Attachment.message == row["message"]).first()
        link = f"{self._public_url}/admin/threads/{row['conversation']}" if self._public_url else ""
        return compose(
            row["kind"],
            conversation["display_name"],
            self._cipher.decrypt(message["body"]),
            attachment["kind"] if attachment else None,
            link,
        )

    async def _failed(self, row: dict[str, Any], exc: TelegramError) -> float:
        attempts = row["attempts"] + 1
        if exc.retry_after is not None:
            delay = float(max(exc.retry_after, 1))
        else:
            # Not retryable (a bad token, a wrong chat): the operator must fix it; meanwhile the slowest pace.
            step = attempts - 1 if exc.retryable else len(self._retry_seconds) - 1
            delay = float(self._retry_seconds[min(step, len(self._retry_seconds) - 1)])
        error = f"{exc.error_code or ''} {exc.description}".strip()[:200]
        await OutboxRow.update(
            {
                OutboxRow.attempts: attempts,
                OutboxRow.last_error: error,
                OutboxRow.next_try_at: now() + delay,
            }
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

    async def _delivered(self, row: dict[str, Any], result: Any) -> None:
        telegram_id = result.get("message_id") if isinstance(result, dict) else None
        moment = now()
        async with write_transaction(self._engine):
            await OutboxRow.update(
                {
                    OutboxRow.delivered: True,
                    OutboxRow.delivered_at: moment,
                    OutboxRow.telegram_message_id: telegram_id,
                    OutboxRow.attempts: row["attempts"] + 1,
                }
            ).where(OutboxRow.id == row["id"])
            if isinstance(telegram_id, int):
                await TelegramLink.insert(
                    TelegramLink(
                        chat_id=self._chat_id,
                        telegram_message_id=telegram_id,
                        conversation=row["conversation"],
                        created_at=moment,
                    )
                )
        log.info(
            json.dumps({"event": "telegram.delivered", "outbox_id": row["id"], "conversation": row["conversation"]})
        )
