"""The CSRF protection every form post goes through: Litestar's double-submit cookie, configured in one place."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig

from app.settings import Settings


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_secure=settings.is_production,
        cookie_httponly=True,
        cookie_samesite="lax",
        # Static files and uploads get no CSRF cookie (only forms need one; it cost ~230 bytes a response).
        exclude=["^/telegram/webhook$", "^/static/", "^/media/"],
    )
