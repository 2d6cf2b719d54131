"""Admin login: username + password → one-time code → session. Logout."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.services import login
from app.services.login import USERNAME_MAX, LoginRefused
from app.web import (
    ADMIN_COOKIE,
    LOGIN_COOKIE,
    client_ip,
    cookie,
    expired_cookie,
    language,
    page,
    see_other,
    services_of,
)

# The refusals after which the form keeps the username typed (the others start over).
USERNAME_KEPT = frozenset({"login.wrong", "login.locked_out", "login.code_not_delivered"})


def login_page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    services = services_of(request)
    return page(
        request,
        "auth/login.html",
        status_code=status_code,
        can_login=services.auth.can_deliver_codes,
        console_codes=not services.settings.is_production and not services.settings.telegram_configured,
        **context,
    )


@get("/login", include_in_schema=False)
async def login_form(request: Request[Any, Any, Any]) -> Template:
    services = services_of(request)
    if not services.auth.can_deliver_codes:
        return login_page(request, status_code=503, error=translator(language(request))("login.unavailable"))
    return login_page(request)


@post("/login", include_in_schema=False, status_code=200)
async def login_submit(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Template:
    services = services_of(request)
    username = (data.get("username") or "")[:USERNAME_MAX]
    try:
        attempt_token = await login.start(services.auth, username, data.get("password") or "", client_ip(request))
    except LoginRefused as refused:
        shown = username if refused.message_key in USERNAME_KEPT else None
        response = login_page(
            request,
            status_code=refused.status,
            error=translator(language(request))(refused.message_key),
            username=shown,
        )
        if refused.retry_after is not None:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    response = login_page(request, step="code", totp=await services.auth.uses_totp(username))
    response.cookies.append(
        cookie(
            services.settings, LOGIN_COOKIE, attempt_token, max_age=services.settings.login_code_seconds, path="/login"
        )
    )
    return response


@post("/login/verify", include_in_schema=False, status_code=303)
async def login_verify(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    services = services_of(request)
    try:
        token = await login.finish(
            services.auth,
            request.cookies.get(LOGIN_COOKIE),
            data.get("code") or "",
            client_ip(request),
            request.cookies.get(ADMIN_COOKIE),
        )
    except LoginRefused as refused:
        return login_page(
            request,
            status_code=refused.status,
            step="code" if refused.message_key == "login.code_wrong" else None,  # another try with the same code
            error=translator(language(request))(refused.message_key),
        )
    return see_other(
        "/admin",
        cookies=[
            cookie(services.settings, ADMIN_COOKIE, token, max_age=services.settings.session_absolute_seconds),
            expired_cookie(services.settings, LOGIN_COOKIE, path="/login"),
        ],
    )


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    await services.auth.end_session(request.cookies.get(ADMIN_COOKIE))
    return see_other("/login", cookies=[expired_cookie(services.settings, ADMIN_COOKIE)])
