"""Web plumbing shared by the routes: the app's services, cookies, page rendering, errors, security headers."""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from jinja2 import Environment
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import HTTPException, NotAuthorizedException, TooManyRequestsException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import PathParameter, QueryParameter
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect, Template
from litestar.types import Message, Scope

from app.i18n import pick_language, translator
from app.models.db import database_unavailable
from app.services.attachments import AttachmentService
from app.services.auth import AdminIdentity, AuthService
from app.services.conversations import ConversationService, MessageView, ThreadView
from app.services.crypto import Signer
from app.services.messaging import MessageSender
from app.services.metrics import Metrics
from app.services.presence import PresenceTracker
from app.services.realtime import Broker, Hub
from app.services.retention import Retention
from app.services.storage import LocalStorage
from app.services.store import SlidingWindowLimiter
from app.services.telegram import TelegramBridge
from app.settings import Settings

log = logging.getLogger("sohbet.http")

VISITOR_COOKIE = "sohbet_visitor"
ADMIN_COOKIE = "sohbet_admin"
LOGIN_COOKIE = "sohbet_login"
LANG_COOKIE = "sohbet_lang"
# Readable by the embed page's script (not HttpOnly, no secret in it): present means cookies work in the iframe.
PROBE_COOKIE = "sohbet_probe"
EMBED_PATH = "/embed"
SOURCE_MAX = 1000  # characters of a visitor-context URL (host page, referrer)
URL_UNSAFE = frozenset('"<>\\^`{|}')
# Admin and login pages: only Sohbet itself may frame them, and their cookies are never the widget's.
PRIVATE_PREFIXES = ("/admin", "/login", "/logout")

# Ids and sequence numbers are database integers: anything outside 1..2**31-1 is refused as a bad request (400)
# before it reaches a query (PostgreSQL would fail on it with a 500).
DB_INT_MAX = 2**31 - 1
PathId = Annotated[int, PathParameter(ge=1, le=DB_INT_MAX)]
QueryId = Annotated[int | None, QueryParameter(ge=1, le=DB_INT_MAX)]
QuerySeq = Annotated[int, QueryParameter(ge=0, le=DB_INT_MAX)]
OptionalQuerySeq = Annotated[int | None, QueryParameter(ge=0, le=DB_INT_MAX)]


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
    attachments: AttachmentService
    local_storage: LocalStorage
    upload_limiter: SlidingWindowLimiter
    messaging: MessageSender
    retention: Retention
    metrics: Metrics
    telegram: TelegramBridge | None = None  # set when TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are


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
    embed = in_embed(request)
    path = request.url.path
    if embed:
        # Inside the widget's iframe: links and forms keep the embed marker (cookie attributes, compact layout).
        query = request.url.query if path == EMBED_PATH else ""
        path = EMBED_PATH + (f"?{query}" if query else "")
    return {
        "lang": lang,
        "t": translator(lang),
        "path": path,
        "embed": embed,
        "embed_q": "?embed=1" if embed else "",
        "embed_origins": allowed_embed_origins(request) if embed else [],
        **context,
    }


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=base_context(request, **context), status_code=status_code)


# -- embedding ------------------------------------------------------------------------------------------------


def in_embed(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """The request comes from the widget's iframe: the /embed page itself, or a URL it made with `embed=1`."""
    return embed_scope(connection.scope)


def embed_scope(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path == EMBED_PATH:
        return True
    if path.startswith(PRIVATE_PREFIXES):  # admin and login cookies keep their own attributes, always
        return False
    raw = scope.get("query_string", b"")
    return b"embed=1" in raw and ("embed", "1") in parse_qsl(raw.decode("latin-1"))


def origin_of(url: str | None) -> str | None:
    """`scheme://host[:port]` (lower case, default port dropped) of an http(s) URL, else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def own_origins(request: ASGIConnection[Any, Any, Any, Any]) -> list[str]:
    """Sohbet's own origins. Production: PUBLIC_URL (required there) only, never what the Host header says.
    Development adds the address this request reached (the demo page on 127.0.0.1): its Host is one of
    ALLOWED_HOSTS (by default PUBLIC_URL's host and the loopback names), app/proxy.py refused any other."""
    settings = sohbet(request).settings
    public = origin_of(settings.public_url)
    if settings.is_production and public:
        return [public]
    reached = origin_of(str(request.base_url))
    return [o for o in (reached, public) if o]


def allowed_embed_origins(request: ASGIConnection[Any, Any, Any, Any]) -> list[str]:
    """The origins that may frame /embed and talk to it: Sohbet itself ('self') and EMBED_ORIGINS."""
    settings = sohbet(request).settings
    found = [*own_origins(request), *(origin_of(o) for o in settings.embed_origins)]
    return list(dict.fromkeys(o for o in found if o))


def clean_source_url(value: str | None, allowed: list[str] | None) -> str | None:
    """A visitor-context URL, or None: http(s), no credentials, nothing a browser would have percent-encoded
    (spaces, control characters, quotes, angle brackets...), at most SOURCE_MAX characters, fragment dropped;
    with `allowed`, its origin must be one of them (the host page); without, any origin (the host page's
    referrer: shown to the admin as text and a no-referrer link, never trusted)."""
    if not value or len(value) > SOURCE_MAX or any(ord(c) <= 0x20 or ord(c) >= 0x7F or c in URL_UNSAFE for c in value):
        return None
    origin = origin_of(value)
    if origin is None or (allowed is not None and origin not in allowed):
        return None
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", parts.query, ""))


def embed_cookie_header(value: str) -> str:
    """A Set-Cookie value for the widget's third-party iframe: `SameSite=None; Secure; Partitioned` (CHIPS).
    Browsers refuse Lax/Strict cookies set in a cross-site frame, SameSite=None needs Secure, and browsers that
    block third-party cookies still keep a partitioned one (keyed to the host site)."""
    parts = [p.strip() for p in value.split(";") if p.strip()]
    kept = [p for p in parts[1:] if p.split("=", 1)[0].strip().lower() not in {"samesite", "secure", "partitioned"}]
    return "; ".join([parts[0], *kept, "SameSite=None", "Secure", "Partitioned"])


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
    """The client's address, as app/proxy.py resolved it from a trusted proxy's X-Forwarded-For."""
    return connection.client.host if connection.client else "unknown"


# -- errors ------------------------------------------------------------------------------------------------

ERROR_KEYS = {
    400: "error.bad_request",
    401: "error.login_required",
    403: "error.forbidden",
    404: "error.not_found",
    405: "error.bad_request",
    413: "error.too_large",
    422: "error.bad_request",
    429: "error.rate_limited",
    503: "error.unavailable",
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


RATE_LIMIT_STATE = "sohbet_rate_limit"


def refusing_limit(request: Request[Any, Any, Any]) -> str:
    """The name of the route's rate limit (its store name without `rl-`); each route has at most one."""
    for middleware in request.route_handler.resolve_middleware():
        config = middleware.kwargs.get("config") if isinstance(middleware, DefineMiddleware) else None
        if isinstance(config, RateLimitConfig):
            return config.store.removeprefix("rl-")
    return "unknown"


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """One place that turns any failure into a clear HTML page, htmx fragment, redirect or JSON error."""
    status = exc.status_code if isinstance(exc, HTTPException) else 503 if database_unavailable(exc) else 500
    headers = dict(getattr(exc, "headers", None) or {})  # keep RateLimit-* / Retry-After
    if status == 503 and not isinstance(exc, HTTPException):
        headers["Retry-After"] = "5"
    if isinstance(exc, TooManyRequestsException):  # raised only by Litestar's rate-limit middleware
        request.scope.setdefault("state", {})[RATE_LIMIT_STATE] = refusing_limit(request)
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


def security_headers(settings: Settings, *, frameable: bool = True, document: bool = True) -> list[tuple[str, str]]:
    """`frameable=False` (admin and login pages): only Sohbet itself may frame them, never an embedding site.
    `document=False` (scripts, styles, images, JSON, event streams): the same policy in its short form — the
    directives that matter to a resource that is not a page — without the page-only headers; HTTP/1.1 does not
    compress headers, and on the visitor page they were a sixth of everything transferred."""
    frame_ancestors = " ".join(["'self'", *settings.embed_origins]) if frameable else "'self'"
    if not document:
        compact_csp = f"default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors {frame_ancestors}"
        headers = [
            ("content-security-policy", compact_csp),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
        ]
        if settings.is_production:
            headers.append(("strict-transport-security", "max-age=63072000; includeSubDomains"))
        return headers
    # Cloudinary attachments: /media/ redirects to a signed download URL on the API host (files uploaded public
    # before that come from the delivery host).
    files = f" {settings.cloudinary.delivery_origin} {settings.cloudinary.upload_prefix}" if settings.cloudinary else ""
    csp = "; ".join(
        [
            # script-src, style-src, connect-src and font-src fall back to default-src: 'self', nothing inline.
            "default-src 'self'",
            f"img-src 'self' data: blob:{files}",
            f"media-src 'self' blob:{files}",
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


def make_before_send(settings: Settings, metrics: Metrics | None = None) -> Any:
    page_headers = security_headers(settings)
    private_page_headers = security_headers(settings, frameable=False)
    resource_headers = security_headers(settings, document=False)
    private_resource_headers = security_headers(settings, frameable=False, document=False)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        mutable = MutableScopeHeaders.from_message(message)
        path = scope.get("path", "")
        private = path.startswith(PRIVATE_PREFIXES)
        if (mutable.get("content-type") or "").startswith("text/html"):
            headers = private_page_headers if private else page_headers
        else:
            headers = private_resource_headers if private else resource_headers
        for name, value in headers:
            if name not in mutable:
                mutable[name] = value
        if path.startswith("/static/"):
            del mutable["content-disposition"]  # Litestar's "inline; filename=…": the default anyway
        if path == "/" or path == EMBED_PATH or path.startswith(NO_STORE_PREFIXES):
            mutable["cache-control"] = "no-store"
        if embed_scope(scope):
            # Every cookie set in the widget's iframe (visitor, language, CSRF, probe) must be a CHIPS cookie.
            mutable.headers[:] = [
                (name, embed_cookie_header(value.decode("latin-1")).encode("latin-1"))
                if name == b"set-cookie"
                else (name, value)
                for name, value in mutable.headers
            ]
        if metrics is not None:
            # The route's template, never the raw path (ids would make the label set unbounded).
            route = scope.get("path_template") if "route_handler" in scope else None
            metrics.http_response(route or "unmatched", scope.get("method", ""), message["status"])
            if message["status"] == 429:
                metrics.rate_limit_refused(scope.get("state", {}).get(RATE_LIMIT_STATE, "app"))
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
