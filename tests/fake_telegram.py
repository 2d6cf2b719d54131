"""A fake Telegram Bot API on loopback, for the app's httpx client pointed at it with TELEGRAM_API_BASE.

It is a real HTTP server, not a mock: the app posts to `/bot<token>/<method>` exactly as it would to
api.telegram.org, and it answers the way Telegram does (`{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ...}`).

- Methods: `getMe`, `sendMessage` (JSON, urlencoded or multipart body). Anything else: 404 "Not Found".
- A wrong token gets Telegram's 401 `Unauthorized`.
- Every call is recorded in `calls` (with the time it arrived and the status it got).
- Scriptable: `fail_next(n, 429, retry_after=1)`, `fail_next(n, 500)`, `hang_next(n)` (sleep `hang_seconds`, longer
  than the client's timeout, then answer 504 — the message is not delivered), `down()` (connection refused) and
  `up()` (back on the same port).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.fake_cloudinary import parse_multipart


@dataclass
class Call:
    method: str
    token_ok: bool
    params: dict[str, Any] = field(default_factory=dict)
    status: int = 0
    at: float = field(default_factory=time.monotonic)
    result: Any = None


@dataclass
class Script:
    """Answer the next `count` calls with `status` (or hang when `hang`)."""

    count: int
    status: int = 500
    retry_after: int | None = None
    hang: bool = False


class FakeTelegram:
    def __init__(self, token: str | None = None, chat_id: str = "424242") -> None:
        self.token = token or f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"
        self.chat_id = chat_id
        self.calls: list[Call] = []
        self.hang_seconds = 3.0
        self._scripts: list[Script] = []
        self._next_message_id = 100
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

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

    def fail_next(self, count: int, status: int, retry_after: int | None = None) -> None:
        with self._lock:
            self._scripts.append(Script(count, status, retry_after))

    def hang_next(self, count: int) -> None:
        with self._lock:
            self._scripts.append(Script(count, 504, hang=True))

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.calls.clear()

    def _take_script(self) -> Script | None:
        with self._lock:
            while self._scripts and self._scripts[0].count <= 0:
                self._scripts.pop(0)
            if not self._scripts:
                return None
            script = self._scripts[0]
            script.count -= 1
            return script

    # -- what tests look at ----------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def sent_texts(self) -> list[str]:
        """The text of every message actually delivered (answered 200), in order."""
        return [str(call.params.get("text", "")) for call in self.calls_to("sendMessage") if call.status == 200]

    # -- the API ---------------------------------------------------------------------------------------------

    def handle(self, call: Call) -> tuple[int, dict[str, Any]]:
        if not call.token_ok:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        script = self._take_script()
        if script is not None:
            if script.hang:
                time.sleep(self.hang_seconds)
                return 504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
            if script.status == 429:
                retry_after = script.retry_after or 1
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                }
            return script.status, {"ok": False, "error_code": script.status, "description": "Internal Server Error"}
        if call.method == "getMe":
            return 200, {"ok": True, "result": self._bot()}
        if call.method == "sendMessage":
            chat_id, text = str(call.params.get("chat_id", "")), call.params.get("text")
            if not text:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            if chat_id != self.chat_id:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            with self._lock:
                self._next_message_id += 1
                message_id = self._next_message_id
            return 200, {
                "ok": True,
                "result": {
                    "message_id": message_id,
                    "from": self._bot(),
                    "chat": {"id": int(self.chat_id), "type": "private", "first_name": "Admin"},
                    "date": int(time.time()),
                    "text": text,
                },
            }
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _bot(self) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Sohbet test bot",
            "username": "sohbet_test_bot",
        }


class FakeHandler(BaseHTTPRequestHandler):
    fake: FakeTelegram
    server_version = "FakeTelegram/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        prefix, _, method = path.lstrip("/").partition("/")
        token_ok = prefix == f"bot{self.fake.token}"
        call = Call(method, token_ok, self._params(body))
        with self.fake._lock:
            self.fake.calls.append(call)
        status, answer = self.fake.handle(call)
        call.status, call.result = status, answer.get("result")
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a hang past its timeout)
            pass

    do_GET = do_POST  # Telegram accepts GET with query parameters too; we only need the path check

    def _params(self, body: bytes) -> dict[str, Any]:
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith("application/json"):
                parsed = json.loads(body or b"{}")
                return parsed if isinstance(parsed, dict) else {}
            if content_type.startswith("application/x-www-form-urlencoded"):
                return dict(parse_qsl(body.decode(), keep_blank_values=True))
            if content_type.startswith("multipart/form-data"):
                fields, _ = parse_multipart(content_type, body)
                return dict(fields)
        except ValueError:
            return {}
        return {}
