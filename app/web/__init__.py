"""Web plumbing shared by the routes, one module per concern:

- `cookies`: cookie names and attributes, the CHIPS form in the widget's iframe.
- `access`: the app's services for a request, the admin guard, the client's address.
- `embedding`: requests from the widget's iframe, the origins that may frame it, host-page URLs.
- `rendering`: page context, language, htmx/JSON, redirects.
- `errors`: any failure as a page, fragment, redirect or JSON error.
- `headers`: security headers, cache policy, metrics and the log line on every response.
- `params`: path and query parameters that are database integers.

Every public name is re-exported here: routes import `from app.web import X`.
"""

from __future__ import annotations

from app.web.access import acting, admin_guard, client_ip, current_admin, owner_guard, services_of
from app.web.cookies import (
    ADMIN_COOKIE,
    LANG_COOKIE,
    LOGIN_COOKIE,
    PROBE_COOKIE,
    VISITOR_COOKIE,
    cookie,
    embed_cookie_header,
    expired_cookie,
)
from app.web.embedding import (
    EMBED_PATH,
    PRIVATE_PREFIXES,
    SOURCE_MAX,
    URL_UNSAFE,
    allowed_embed_origins,
    clean_source_url,
    embed_scope,
    in_embed,
    origin_of,
    own_origins,
)
from app.web.errors import (
    ERROR_CODES,
    ERROR_KEYS,
    RATE_LIMIT_STATE,
    ApiError,
    error_response,
    refusing_limit,
)
from app.web.headers import NO_STORE_PREFIXES, make_before_send, security_headers
from app.web.params import DB_INT_MAX, OptionalQuerySeq, PathId, QueryId, QuerySeq
from app.web.rendering import (
    base_context,
    is_htmx,
    language,
    page,
    see_other,
    wants_json,
)
from app.wiring import Services

__all__ = [
    "ADMIN_COOKIE",
    "DB_INT_MAX",
    "EMBED_PATH",
    "ERROR_CODES",
    "ERROR_KEYS",
    "LANG_COOKIE",
    "LOGIN_COOKIE",
    "NO_STORE_PREFIXES",
    "PRIVATE_PREFIXES",
    "PROBE_COOKIE",
    "RATE_LIMIT_STATE",
    "SOURCE_MAX",
    "URL_UNSAFE",
    "VISITOR_COOKIE",
    "ApiError",
    "OptionalQuerySeq",
    "PathId",
    "QueryId",
    "QuerySeq",
    "Services",
    "acting",
    "admin_guard",
    "allowed_embed_origins",
    "base_context",
    "clean_source_url",
    "client_ip",
    "cookie",
    "current_admin",
    "embed_cookie_header",
    "embed_scope",
    "error_response",
    "expired_cookie",
    "in_embed",
    "is_htmx",
    "language",
    "make_before_send",
    "origin_of",
    "own_origins",
    "owner_guard",
    "page",
    "refusing_limit",
    "security_headers",
    "see_other",
    "services_of",
    "wants_json",
]
