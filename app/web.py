"""Web plumbing shared by the routes: the app's services, cookies, page rendering, errors, security headers."""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from jinja2 import Environment
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect, Template
from litestar.types import Message, Scope

from app.i18n import pick_language, translator
from app.services.attachments import AttachmentService
from app.services.auth import AdminIdentity, AuthService
from app.services.conversations import ConversationService, MessageView, ThreadView
from app.services.crypto import Signer
from app.services.presence import PresenceTracker
from app.services.realtime import Broker, Hub
from app.services.retention import Retention
from app.services.storage import LocalStorage
from app.services.store import SlidingWindowLimiter
from app.services.telegram import TelegramClient, TelegramOutbox
from app.settings import Settings

log = logging.getLogger("sohbet.http")

VISITOR_COOKIE = "sohbet_visitor"
ADMIN_COOKIE = "sohbet_admin"
LOGIN_COOKIE = "sohbet_login"
LANG_COOKIE = "sohbet_lang"


@dataclass
class Sohbet:
    """Everything a request handler may need, built once in create_app()."""

    settings: Settings
    engine: Any
    hub: Hub
    broker: Broker
    presence: PresenceTracker
    conversations: ConversationService
    auth: AuthService
    visitor_signer: Signer
    jinja: Environment
    shutdown: anyio.Event
    attachments: AttachmentService
    local_storage: LocalStorage
    upload_limiter: SlidingWindowLimiter
    retention: Retention
    telegram: TelegramClient | None = None  # set when TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are
    telegram_outbox: TelegramOutbox | None = None


def sohbet(connection: ASGIConnection[Any, Any, Any, Any]) -> Sohbet:
    return connection.app.state.sohbet  # type: ignore[no-any-return]


def language(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return pick_language(connection.cookies.get(LANG_COOKIE), connection.headers.get("accept-language"))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return isinstance(request, HTMXRequest) and bool(request.htmx)


def wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path in {"/admin/login", "/admin/verify-otp"}:
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def cookie(settings: Settings, key: str, value: str, *, max_age: int | None, path: str = "/") -> Cookie:
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=settings.is_production,
        samesite="strict" if key == ADMIN_COOKIE else "lax",
    )


def expired_cookie(settings: Settings, key: str, path: str = "/") -> Cookie:
    return cookie(settings, key, "", max_age=0, path=path)


def base_context(request: Request[Any, Any, Any], **context: Any) -> dict[str, Any]:
    lang = language(request)
    return {"lang": lang, "t": translator(lang), "path": request.url.path, **context}


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=base_context(request, **context), status_code=status_code)


def see_other(path: str, **kwargs: Any) -> Redirect:
    return Redirect(path=path, status_code=303, **kwargs)


def message_context(message: MessageView, display_name: str, t: Any, viewer: str = "visitor") -> dict[str, Any]:
    return {"m": message, "display_name": display_name, "t": t, "viewer": viewer}


def render_message(jinja: Environment, message: MessageView, display_name: str, lang: str, viewer: str) -> str:
    """The `_message.html` partial, as the page loop, the htmx response and the SSE payload all use it."""
    template = jinja.get_template("shared/_message.html")
    return template.render(message_context(message, display_name, translator(lang), viewer))


def thread_display_name(thread: ThreadView | None, lang: str) -> str:
    if thread is None:
        return ""
    return thread.display_name or translator(lang)("visitor.default_name")


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admin routes: a live server-side session or NotAuthorized (→ /login, HX-Redirect or JSON 401)."""
    identity = await sohbet(connection).auth.session_identity(connection.cookies.get(ADMIN_COOKIE))
    if identity is None:
        raise NotAuthorizedException("login required")
    connection.state.admin = identity


def current_admin(request: Request[Any, Any, Any]) -> AdminIdentity:
    return request.state.admin  # type: ignore[no-any-return]


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


# -- errors ------------------------------------------------------------------------------------------------

ERROR_KEYS = {
    400: "error.bad_request",
    403: "error.forbidden",
    404: "error.not_found",
    405: "error.bad_request",
    413: "error.too_large",
    422: "error.bad_request",
    429: "error.rate_limited",
}
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "unprocessable",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "unavailable",
}


class ApiError(HTTPException):
    """A refusal whose `detail` is already the message for the user (JSON API)."""


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """One place that turns any failure into a clear HTML page, htmx fragment, redirect or JSON error."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = dict(getattr(exc, "headers", None) or {})  # keep RateLimit-* / Retry-After
    if status == 401 and not wants_json(request):
        if is_htmx(request):
            return ClientRedirect("/login")
        return see_other("/login")
    detail = getattr(exc, "detail", "") if isinstance(exc, HTTPException) else ""
    is_csrf = status == 403 and "csrf" in str(detail).lower()
    key = "error.csrf" if is_csrf else ERROR_KEYS.get(status, "error.server")
    t = translator(language(request))
    if status >= 500:
        frames = traceback.extract_tb(exc.__traceback__)[-4:]
        where = [f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in frames]
        log.error(
            json.dumps({"event": "http.error", "path": request.url.path, "error": type(exc).__name__, "where": where})
        )
    if wants_json(request):
        code = "csrf_failed" if is_csrf else ERROR_CODES.get(status, "error")
        message = str(exc.detail) if isinstance(exc, ApiError) else t(key)
        return Response(
            {"success": False, "error": message, "code": code, "status": status},
            status_code=status,
            headers=headers,
            media_type="application/json",
        )
    template = "shared/_error.html" if is_htmx(request) else "error.html"
    context = base_context(request, status=status, message=t(key))
    return Template(template_name=template, context=context, status_code=status, headers=headers)


# -- security headers -------------------------------------------------------------------------------------


def security_headers(settings: Settings) -> list[tuple[str, str]]:
    frame_ancestors = " ".join(["'self'", *settings.embed_origins])
    # Cloudinary attachments are shown straight from its delivery host.
    files = f" {settings.cloudinary.delivery_origin}" if settings.cloudinary else ""
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{files}",
            f"media-src 'self' blob:{files}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )
    headers = [
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("permissions-policy", "camera=(), geolocation=(), microphone=(self)"),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    if settings.is_production:
        headers.append(("strict-transport-security", "max-age=63072000; includeSubDomains"))
    return headers


NO_STORE_PREFIXES = ("/admin", "/login", "/logout", "/api/", "/chat/", "/health")


def make_before_send(settings: Settings) -> Any:
    headers = security_headers(settings)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        mutable = MutableScopeHeaders.from_message(message)
        for name, value in headers:
            if name not in mutable:
                mutable[name] = value
        path = scope.get("path", "")
        if path == "/" or path.startswith(NO_STORE_PREFIXES):
            mutable["cache-control"] = "no-store"
        log.info(
            json.dumps(
                {
                    "event": "http.response",
                    "method": scope.get("method"),
                    "path": quote(path, safe="/"),
                    "status": message["status"],
                }
            )
        )

    return before_send
