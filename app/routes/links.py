"""The two links of a replies-by-email mail (SPEC §9): the resume link, which puts this device back into the
conversation, and the one-click unsubscribe (RFC 8058), whose POST needs no cookie and no CSRF token (app/csrf.py
excludes it: mail clients send it)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from app.i18n import translator
from app.services.replies import LinkRefused
from app.services.visitor_page import VISITOR_COOKIE_AGE
from app.web import VISITOR_COOKIE, cookie, language, page, see_other, services_of


def refused(request: Request[Any, Any, Any], error: LinkRefused) -> Template:
    message = translator(language(request))(f"link.{error.code.removeprefix('link_')}")
    return page(request, "visitor/link.html", status_code=error.status, message=message)


@get("/r/{token:str}", include_in_schema=False)
async def resume(request: Request[Any, Any, Any], token: str) -> Response[Any] | Template:
    """A new visitor token for the link's conversation, its cookie set here, then the conversation."""
    services = services_of(request)
    try:
        _, visitor_token = await services.replies.resume(token)
    except LinkRefused as error:
        return refused(request, error)
    signed = services.visitor_signer.sign(visitor_token)
    return see_other("/", cookies=[cookie(services.settings, VISITOR_COOKIE, signed, max_age=VISITOR_COOKIE_AGE)])


@get("/unsubscribe/{token:str}", include_in_schema=False)
async def unsubscribe_page(request: Request[Any, Any, Any], token: str) -> Template:
    """A page with the button (a GET never unsubscribes: mail scanners follow links)."""
    t = translator(language(request))
    try:
        services_of(request).replies.unsubscribe_target(token)
    except LinkRefused as error:
        return refused(request, error)
    return page(
        request,
        "visitor/link.html",
        title=t("unsubscribe.title"),
        message=t("unsubscribe.ask"),
        unsubscribe_url=f"/unsubscribe/{token}",
    )


@post("/unsubscribe/{token:str}", include_in_schema=False, status_code=200)
async def unsubscribe(request: Request[Any, Any, Any], token: str) -> Template:
    """One-click: the mail client's POST (or the page's button)."""
    t = translator(language(request))
    try:
        await services_of(request).replies.unsubscribe(token)
    except LinkRefused as error:
        return refused(request, error)
    return page(request, "visitor/link.html", title=t("unsubscribe.title"), message=t("unsubscribe.done"))


ROUTES = [resume, unsubscribe_page, unsubscribe]
