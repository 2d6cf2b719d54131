"""CORS for the JSON API only (issue 11, defect 14): `CORS_ORIGINS` was parsed but never applied.

Litestar's `cors_config` covers every path; here it covers the JSON API (`/api/*`, `/admin/login`,
`/admin/verify-otp`) and nothing else — pages, streams and media stay same-origin. Only the listed origins get
`Access-Control-Allow-Origin` (with credentials: the API's admin session is a cookie); a preflight from any other
origin gets 400 and no CORS headers, so the browser refuses the call. The origin checks and header sets are
Litestar's `CORSConfig`; this layer only decides where they apply.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

API_PATHS = ("/api/", "/admin/login", "/admin/verify-otp")
ALLOWED_HEADERS = ["content-type", "x-csrftoken", "authorization", "idempotency-key"]


def api_cors_config(origins: tuple[str, ...]) -> CORSConfig:
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=True,
        expose_headers=["retry-after"],
        max_age=600,
    )


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATHS[0]) or path in API_PATHS[1:]


class ApiCORSMiddleware:
    """Pure ASGI: answers API preflights and marks API responses to listed origins."""

    def __init__(self, app: ASGIApp, config: CORSConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"origin"), None)
        if scope["type"] != ScopeType.HTTP or origin is None or not is_api_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        allowed = self.config.is_origin_allowed(origin)
        if scope["method"] == "OPTIONS":
            await self.preflight(scope, send, origin if allowed else None)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.add("vary", "Origin")
                if allowed:
                    headers["access-control-allow-origin"] = origin
                    headers["access-control-allow-credentials"] = "true"
                    headers["access-control-expose-headers"] = ", ".join(self.config.expose_headers)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def preflight(self, scope: Scope, send: Send, origin: str | None) -> None:
        requested = next((v for k, v in scope["headers"] if k == b"access-control-request-method"), b"").decode()
        if origin is None or (requested and requested not in self.config.allow_methods):
            status, headers = 400, [(b"vary", b"Origin")]
        else:
            status = 204
            headers = [(k.lower().encode(), v.encode()) for k, v in self.config.preflight_headers.items()]
            headers.append((b"access-control-allow-origin", origin.encode()))
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
