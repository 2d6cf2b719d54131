"""The cookies Sohbet sets: their names, their attributes, and the CHIPS form they take in the widget's iframe."""

from __future__ import annotations

from litestar.datastructures import Cookie

from app.settings import Settings

VISITOR_COOKIE = "sohbet_visitor"
ADMIN_COOKIE = "sohbet_admin"
LOGIN_COOKIE = "sohbet_login"
LANG_COOKIE = "sohbet_lang"
# Readable by the embed page's script (not HttpOnly, no secret in it): present means cookies work in the iframe.
PROBE_COOKIE = "sohbet_probe"


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


def embed_cookie_header(value: str) -> str:
    """A Set-Cookie value for the widget's third-party iframe: `SameSite=None; Secure; Partitioned` (CHIPS).
    Browsers refuse Lax/Strict cookies set in a cross-site frame, SameSite=None needs Secure, and browsers that
    block third-party cookies still keep a partitioned one (keyed to the host site)."""
    parts = [p.strip() for p in value.split(";") if p.strip()]
    kept = [p for p in parts[1:] if p.split("=", 1)[0].strip().lower() not in {"samesite", "secure", "partitioned"}]
    return "; ".join([parts[0], *kept, "SameSite=None", "Secure", "Partitioned"])
