"""The Bot API over httpx: one shared client, its errors, and login codes sent through it.

`TelegramClient` holds one `httpx.AsyncClient` whose base URL carries the bot token (opened and closed in the
app's lifespan). The token is part of every URL, so nothing here ever logs a URL or lets an httpx exception
(which carries the request) escape: every failure becomes a `TelegramError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from app.services.auth import CodeNotDelivered

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB


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

    @property
    def about_the_chat(self) -> bool:
        """An error every message to the chat would get (bad token, bot removed, wrong chat): not this message's."""
        text = self.description.lower()
        return self.error_code in (401, 403, 404) or "chat not found" in text or "not enough rights" in text

    @property
    def topic_gone(self) -> bool:
        """The forum topic we sent into no longer exists."""
        text = self.description.lower()
        return "thread not found" in text or "topic_deleted" in text or "topic_id_invalid" in text

    @property
    def topic_closed(self) -> bool:
        return "topic_closed" in self.description.lower()


class TelegramClient:
    def __init__(
        self,
        api_base: str,
        token: str,
        *,
        timeout: float = 10.0,
        on_call: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._on_call = on_call or (lambda method, ok: None)
        self._http: httpx.AsyncClient | None = None

    @property
    def timeout(self) -> float:
        return self._timeout

    async def start(self) -> None:
        self._http = httpx.AsyncClient(
            base_url=f"{self._api_base}/bot{self._token}/", timeout=self._timeout, follow_redirects=False
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def call(self, method: str, *, http_timeout: float | None = None, **params: Any) -> Any:
        """POST `params` as JSON to `method`; Telegram's `result`, or TelegramError. `http_timeout` overrides
        the client's (a long poll needs longer than its own wait; `timeout` is getUpdates' own parameter)."""
        payload = {k: v for k, v in params.items() if v is not None}
        return await self._send(method, http_timeout, json=payload)

    async def upload(
        self,
        method: str,
        field: str,
        file: tuple[str, bytes, str] | str,
        **params: Any,
    ) -> Any:
        """A send with a file: multipart, the file in `field` (or a URL / file_id string in its place)."""
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items() if v is not None}
        if isinstance(file, str):
            data[field] = file
            return await self._send(method, None, data=data)
        return await self._send(method, self._timeout * 3, data=data, files={field: file})

    async def _send(self, method: str, http_timeout: float | None, **request: Any) -> Any:
        if self._http is None:
            raise TelegramError(method, "client not started", retryable=True)
        try:
            response = await self._http.post(method, timeout=http_timeout or self._timeout, **request)
        except httpx.TimeoutException:
            self._on_call(method, False)
            raise TelegramError(method, "timeout", retryable=True) from None
        except httpx.HTTPError as exc:  # connection refused, reset, protocol errors: the request's URL stays here
            self._on_call(method, False)
            raise TelegramError(method, type(exc).__name__, retryable=True) from None
        try:
            decoded = response.json()
        except ValueError:
            decoded = None
        body: dict[str, Any] = decoded if isinstance(decoded, dict) else {}
        ok = response.status_code == 200 and body.get("ok") is True
        self._on_call(method, ok)
        if ok:
            return body.get("result")
        error_code = body.get("error_code")
        code = error_code if isinstance(error_code, int) else response.status_code
        parameters = body.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        if not isinstance(retry_after, int):
            retry_after = None
        raise TelegramError(
            method,
            str(body.get("description") or f"HTTP {response.status_code}")[:200],
            error_code=code,
            retry_after=retry_after if code == 429 else None,
            retryable=code == 429 or code >= 500,
        )

    async def download(self, file_id: str, max_bytes: int) -> bytes:
        """A file someone sent the bot: `getFile`, then its bytes (refused past `max_bytes`, read in a stream)."""
        info = await self.call("getFile", file_id=file_id)
        path = info.get("file_path") if isinstance(info, dict) else None
        if not isinstance(path, str) or not path or ".." in path:
            raise TelegramError("getFile", "no file path")
        if self._http is None:
            raise TelegramError("download", "client not started", retryable=True)
        url = f"{self._api_base}/file/bot{self._token}/{path}"
        chunks: list[bytes] = []
        size = 0
        try:
            async with self._http.stream("GET", url, timeout=self._timeout * 3) as response:
                if response.status_code != 200:
                    raise TelegramError("download", f"HTTP {response.status_code}", error_code=response.status_code)
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise TelegramError("download", "file too large", error_code=413)
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise TelegramError("download", "timeout", retryable=True) from None
        except httpx.HTTPError as exc:
            raise TelegramError("download", type(exc).__name__, retryable=True) from None
        return b"".join(chunks)


class TelegramCodeSender:
    """Login codes go to the admin's Telegram chat, or (`to_chat`) to an agent's own private chat with the bot. A
    failure raises CodeNotDelivered (the code is never logged)."""

    available = True

    def __init__(self, client: TelegramClient, chat_id: str, code_seconds: int) -> None:
        self._client = client
        self._chat_id = chat_id
        self._code_seconds = code_seconds
        self._minutes = max(1, code_seconds // 60)

    def to_chat(self, chat_id: str) -> TelegramCodeSender:
        return TelegramCodeSender(self._client, chat_id, self._code_seconds)

    async def send_code(self, username: str, code: str) -> None:
        text = f"Sohbet login code: {code}\nFor: {username}\nValid for {self._minutes} minutes. Never share it."
        try:
            await self._client.call("sendMessage", chat_id=self._chat_id, text=text)
        except TelegramError as exc:
            raise CodeNotDelivered(exc.error_code, exc.description) from None
