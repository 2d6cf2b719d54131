"""The fake Telegram's HTTP side: one handler for every Bot API call (JSON, urlencoded, multipart or query
string parameters, Telegram's 401/404/413 answers) and for file downloads, answering from the fake's state."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import traceback
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.telegram.protocol import (
    UPLOAD_LIMIT,
    Abort,
    Call,
    parse_form_data,
)

if TYPE_CHECKING:
    from tests.fakes.telegram.base import FakeTelegramBase


class FakeHandler(BaseHTTPRequestHandler):
    fake: FakeTelegramBase
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
        except Abort:
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
