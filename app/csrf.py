"""The CSRF configuration, in one place: `create_app` installs it and `sohbet security-check` audits it."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig

from app.settings import Settings


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_secure=settings.is_production,
        cookie_httponly=True,
        cookie_samesite="lax",
        # The webhook and RFC 8058 one-click unsubscribe are posted by other servers (no cookie, no token).
        # Static files and uploads get no CSRF cookie (only forms need one; it cost ~230 bytes a response).
        exclude=["^/telegram/webhook$", "^/unsubscribe/[^/]+$", "^/static/", "^/media/"],
    )
