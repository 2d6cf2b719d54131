"""Admin login: username + password → one-time code → session. Logout."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.services.auth import CodeNotDelivered, CodeRejected, LoginUnavailable, WrongPassword
from app.services.login_guard import LoginThrottled
from app.web import (
    ADMIN_COOKIE,
    LOGIN_COOKIE,
    client_ip,
    cookie,
    expired_cookie,
    language,
    page,
    see_other,
    sohbet,
)

CODE_REASON_KEYS = {
    "wrong": "login.code_wrong",
    "expired": "login.code_expired",
    "used": "login.code_expired",
    "unknown": "login.code_expired",
    "locked": "login.code_locked",
}


def login_page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    app = sohbet(request)
    return page(
        request,
        "auth/login.html",
        status_code=status_code,
        can_login=app.auth.can_deliver_codes,
        console_codes=not app.settings.is_production and not app.settings.telegram_configured,
        **context,
    )


@get("/login", include_in_schema=False)
async def login_form(request: Request[Any, Any, Any]) -> Template:
    app = sohbet(request)
    if not app.auth.can_deliver_codes:
        return login_page(request, status_code=503, error=translator(language(request))("login.unavailable"))
    return login_page(request)


@post("/login", include_in_schema=False, status_code=200)
async def login_submit(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Template:
    app = sohbet(request)
    t = translator(language(request))
    username = (data.get("username") or "")[:100]
    try:
        attempt_token = await app.auth.start_login(username, data.get("password") or "", client_ip(request))
    except WrongPassword:
        return login_page(request, status_code=401, error=t("login.wrong"), username=username)
    except LoginThrottled as throttled:
        response = login_page(request, status_code=429, error=t("login.locked_out"), username=username)
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    except CodeNotDelivered:
        return login_page(request, status_code=503, error=t("login.code_not_delivered"), username=username)
    except LoginUnavailable:
        return login_page(request, status_code=503, error=t("login.unavailable"))
    except CodeRejected as rejected:
        return login_page(request, status_code=429, error=t(CODE_REASON_KEYS[rejected.reason]))
    response = login_page(request, step="code")
    response.cookies.append(
        cookie(app.settings, LOGIN_COOKIE, attempt_token, max_age=app.settings.login_code_seconds, path="/login")
    )
    return response


@post("/login/verify", include_in_schema=False, status_code=303)
async def login_verify(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    app = sohbet(request)
    t = translator(language(request))
    try:
        username = await app.auth.verify_code(
            request.cookies.get(LOGIN_COOKIE), (data.get("code") or "")[:20], client_ip(request)
        )
    except CodeRejected as rejected:
        retry = rejected.reason == "wrong"
        return login_page(
            request,
            status_code=401 if rejected.reason != "locked" else 429,
            step="code" if retry else None,
            error=t(CODE_REASON_KEYS[rejected.reason]),
        )
    # Any session the browser had is dropped: the new session gets a new id.
    await app.auth.end_session(request.cookies.get(ADMIN_COOKIE))
    token = await app.auth.create_session(username)
    return see_other(
        "/admin",
        cookies=[
            cookie(app.settings, ADMIN_COOKIE, token, max_age=app.settings.session_absolute_seconds),
            expired_cookie(app.settings, LOGIN_COOKIE, path="/login"),
        ],
    )


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    app = sohbet(request)
    await app.auth.end_session(request.cookies.get(ADMIN_COOKIE))
    return see_other("/login", cookies=[expired_cookie(app.settings, ADMIN_COOKIE)])


ROUTES = [login_form, login_submit, login_verify, logout]
