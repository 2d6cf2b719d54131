"""What every response carries on its way out: security headers, cache policy, CHIPS cookies in the widget's
iframe, the HTTP metrics and the `http.response` log line (INFO in production, DEBUG in development: see
app/logs.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from app.logs import access_log_level
from app.services.metrics import Metrics
from app.settings import Settings
from app.web.cookies import embed_cookie_header
from app.web.embedding import EMBED_PATH, PRIVATE_PREFIXES, embed_scope
from app.web.errors import RATE_LIMIT_STATE

log = logging.getLogger("sohbet.http")

# Stricter than the browsers' default (strict-origin-when-cross-origin): other sites get no Referer at all, our own
# pages get the full one; and 20 bytes shorter on every response (HTTP/1.1 does not compress headers).
REFERRER_POLICY = "same-origin"


def security_headers(
    settings: Settings, *, frameable: bool = True, document: bool = True, embed_origins: tuple[str, ...] | None = None
) -> list[tuple[str, str]]:
    """`embed_origins`: the sites that may frame our pages (default EMBED_ORIGINS; the app passes the live list
    from /admin/settings). `frameable=False` (admin and login pages): only Sohbet itself may frame them, never an
    embedding site.
    `document=False` (scripts, styles, images, JSON, event streams): the same policy in its short form — the
    directives that matter to a resource that is not a page — without the page-only headers; HTTP/1.1 does not
    compress headers, and on the visitor page they were a sixth of everything transferred."""
    origins = settings.embed_origins if embed_origins is None else embed_origins
    frame_ancestors = " ".join(["'self'", *origins]) if frameable else "'self'"
    if not document:
        compact_csp = f"default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors {frame_ancestors}"
        headers = [
            ("content-security-policy", compact_csp),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", REFERRER_POLICY),
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
        ("referrer-policy", REFERRER_POLICY),
        ("permissions-policy", "camera=(), geolocation=(), microphone=(self)"),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    if settings.is_production:
        headers.append(("strict-transport-security", "max-age=63072000; includeSubDomains"))
    return headers


NO_STORE_PREFIXES = ("/admin", "/login", "/logout", "/invite/", "/api/", "/chat/", "/health")


def make_before_send(
    settings: Settings, metrics: Metrics | None = None, embed_origins: Callable[[], tuple[str, ...]] | None = None
) -> Any:
    """`embed_origins()`: the sites allowed to embed the chat now (they change on /admin/settings, no restart)."""
    private_page_headers = security_headers(settings, frameable=False)
    private_resource_headers = security_headers(settings, frameable=False, document=False)
    framed: dict[tuple[str, ...], tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}

    def frameable_headers() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The page and resource headers for the current list of embedding sites (built once per list)."""
        origins = embed_origins() if embed_origins is not None else settings.embed_origins
        if origins not in framed:
            if len(framed) > 8:
                framed.clear()
            framed[origins] = (
                security_headers(settings, embed_origins=origins),
                security_headers(settings, document=False, embed_origins=origins),
            )
        return framed[origins]

    access_level = access_log_level(settings)  # INFO in production, DEBUG in development (app/logs.py)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        mutable = MutableScopeHeaders.from_message(message)
        path = scope.get("path", "")
        private = path.startswith(PRIVATE_PREFIXES)
        page_headers, resource_headers = frameable_headers()
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
            metrics.http_response(route or "unmatched", str(scope.get("method", "")), message["status"])
            if message["status"] == 429:
                metrics.rate_limit_refused(scope.get("state", {}).get(RATE_LIMIT_STATE, "app"))
        if log.isEnabledFor(access_level):
            entry = {
                "event": "http.response",
                "method": scope.get("method"),
                "path": quote(path, safe="/"),
                "status": message["status"],
            }
            log.log(access_level, json.dumps(entry))

    return before_send
