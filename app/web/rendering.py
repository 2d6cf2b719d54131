"""Answering with a page: the context every template gets, the language, htmx or JSON, redirects, messages."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.i18n import pick_language, translator
from app.web.access import services_of
from app.web.cookies import LANG_COOKIE
from app.web.embedding import EMBED_PATH, allowed_embed_origins, in_embed


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
        "brand": services_of(request).brand.current,  # workspace branding (app/services/branding.py)
        "me": request.scope.get("state", {}).get("admin"),  # the logged-in agent on admin pages (AdminIdentity)
        **context,
    }


def page(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=base_context(request, **context), status_code=status_code)


def see_other(path: str, **kwargs: Any) -> Redirect:
    return Redirect(path=path, status_code=303, **kwargs)
