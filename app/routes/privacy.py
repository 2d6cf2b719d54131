"""A visitor's own data (SPEC §11): GET /chat/privacy says what is kept and offers the two requests — GET
/chat/export downloads it as a zip (app/services/exports.py), POST /chat/delete (`confirm=yes`) deletes the
conversation for good (app/services/erasure.py) — by the visitor's cookie only. Owners find and erase a visitor's
conversations by email on /admin/privacy."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.routes._common import visitor_conversation
from app.services.text import TextError
from app.services.visitor_email import check_email
from app.services.visitor_page import retention_notice
from app.web import VISITOR_COOKIE, acting, client_ip, expired_cookie, language, owner_guard, page, services_of

Form = URLEncodedBody[dict[str, str]]


@get("/chat/privacy", include_in_schema=False)
async def privacy_page(request: Request[Any, Any, Any]) -> Template:
    conversation = await visitor_conversation(request)
    return page(request, "visitor/privacy.html", has_conversation=conversation is not None, **notice(request))


def notice(request: Request[Any, Any, Any]) -> dict[str, Any]:
    seconds = services_of(request).settings.message_retention_seconds
    return {"retention_notice": retention_notice(seconds, language(request))}


@get("/chat/export", include_in_schema=False)
async def export(request: Request[Any, Any, Any]) -> Response[bytes]:
    conversation = await visitor_conversation(request)
    if conversation is None:
        raise PermissionDeniedException("no conversation")
    found = await services_of(request).exports.for_visitor(conversation)
    disposition = f'attachment; filename="{found.file_name}"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return Response(found.data, media_type="application/zip", headers=headers)


@post("/chat/delete", include_in_schema=False, status_code=200)
async def delete_conversation(request: Request[Any, Any, Any], data: Form) -> Template:
    """Without `confirm=yes` the privacy page asks; with it the conversation goes and the cookie with it."""
    conversation = await visitor_conversation(request)
    if conversation is None:
        raise PermissionDeniedException("no conversation")
    if data.get("confirm") != "yes":
        return page(request, "visitor/privacy.html", has_conversation=True, ask_delete=True, **notice(request))
    await services_of(request).erasure.erase(conversation.id, **acting_visitor(request))
    response = page(request, "visitor/privacy.html", has_conversation=False, deleted=True)
    response.cookies.append(expired_cookie(services_of(request).settings, VISITOR_COOKIE))
    return response


def acting_visitor(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"actor": "visitor", "ip": client_ip(request), "by": "visitor"}


@get("/admin/privacy")
async def admin_privacy(request: Request[Any, Any, Any]) -> Template:
    return page(request, "admin/privacy.html")


@post("/admin/privacy", status_code=200)
async def erase_by_email(request: Request[Any, Any, Any], data: Form) -> Template:
    """`email`: the conversations it finds are listed; with `confirm=yes` they are erased."""
    erasure = services_of(request).erasure
    typed = (data.get("email") or "")[:300]
    try:
        address = check_email(typed)
        if address is None:
            raise TextError("email_missing")
    except TextError as error:
        message = translator(language(request))(f"error.{error.code}")
        return page(request, "admin/privacy.html", status_code=422, error=message, email=typed)
    found = await erasure.find_by_email(address)
    if data.get("confirm") != "yes" or not found:
        return page(request, "admin/privacy.html", email=address, found=found)
    erased = [e for e in [await erasure.erase(i, **acting(request), by="owner") for i in found] if e is not None]
    return page(request, "admin/privacy.html", email=address, erased=erased)


ROUTES = [privacy_page, export, delete_conversation]
owner_router = Router(
    path="/", route_handlers=[admin_privacy, erase_by_email], guards=[owner_guard], include_in_schema=False
)
