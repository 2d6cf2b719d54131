"""The widget's iframe: which requests come from it, which origins may frame it, and the host-page URLs it
reports."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from litestar.connection import ASGIConnection
from litestar.types import Scope

from app.web.access import services_of

EMBED_PATH = "/embed"
SOURCE_MAX = 1000  # characters of a visitor-context URL (host page, referrer)
URL_UNSAFE = frozenset('"<>\\^`{|}')
# Admin, login and invite pages: only Sohbet itself may frame them, and their cookies are never the widget's.
PRIVATE_PREFIXES = ("/admin", "/login", "/logout", "/invite/")


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
    settings = services_of(request).settings
    public = origin_of(settings.public_url)
    if settings.is_production and public:
        return [public]
    reached = origin_of(str(request.base_url))
    return [o for o in (reached, public) if o]


def allowed_embed_origins(request: ASGIConnection[Any, Any, Any, Any]) -> list[str]:
    """The origins that may frame /embed and talk to it: Sohbet itself ('self') and the embedding sites
    (/admin/settings; EMBED_ORIGINS until saved there)."""
    found = [*own_origins(request), *(origin_of(o) for o in services_of(request).brand.current.embed_origins)]
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
