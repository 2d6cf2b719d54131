"""One place that turns any failure into what the client can read: an HTML page, an htmx fragment, a redirect to
the login page or a JSON error, with the status code and a logged `http.error` for the server's own faults."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Template

from app.i18n import translator
from app.models.db import database_unavailable
from app.web.blocking import VisitorBlocked
from app.web.rendering import base_context, is_htmx, language, see_other, wants_json

log = logging.getLogger("sohbet.http")

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
    limit = ""
    if isinstance(exc, TooManyRequestsException):  # raised only by Litestar's rate-limit middleware
        limit = request.scope.setdefault("state", {})[RATE_LIMIT_STATE] = refusing_limit(request)
    if status == 401 and not wants_json(request):
        if is_htmx(request):
            return ClientRedirect("/login")
        return see_other("/login")
    detail = getattr(exc, "detail", "") if isinstance(exc, HTTPException) else ""
    is_csrf = status == 403 and "csrf" in str(detail).lower()
    key = "error.csrf" if is_csrf else ERROR_KEYS.get(status, "error.server")
    if isinstance(exc, VisitorBlocked):
        key = "error.blocked"
    if limit == "start":
        key = "error.start_limited"
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
