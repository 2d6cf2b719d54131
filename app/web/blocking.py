"""Blocked visitors (SPEC §11) are refused before any route runs: the visitor's pages (`/`, `/embed`), everything
under `/chat/` (posts, stream, transcript) and resume links answer 403 with a neutral page, so nothing a blocked
visitor sends reaches agents, Telegram or mail. Without any block this costs one attribute read per request."""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_403_FORBIDDEN
from litestar.types import ASGIApp, Receive, Scope, Send

from app.services.crypto import token_hash
from app.web.cookies import VISITOR_COOKIE

VISITOR_PAGES = ("/", "/embed")
VISITOR_PREFIXES = ("/chat/", "/r/")


class VisitorBlocked(HTTPException):
    status_code = HTTP_403_FORBIDDEN
    detail = "blocked"


def visitor_path(path: str) -> bool:
    return path in VISITOR_PAGES or path.startswith(VISITOR_PREFIXES)


class BlockedVisitorsMiddleware:
    """Pure ASGI, after the proxy middleware (the client's address is resolved by then)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and visitor_path(scope.get("path", "")):
            litestar_app: Any = scope["litestar_app"]
            services = litestar_app.state.services
            if services.blocks.any:
                request = litestar_app.request_class(scope)
                token = services.visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
                client = scope.get("client")
                if services.blocks.refuses(token_hash(token) if token else None, client[0] if client else ""):
                    raise VisitorBlocked()
        await self.app(scope, receive, send)
