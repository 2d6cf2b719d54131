"""Canned replies (SPEC §10): the page where agents and owners keep them, and the composer's suggestions (htmx)
while an agent types `/` plus a shortcut."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.services import canned
from app.web import admin_guard, current_admin, language, page, see_other

Form = URLEncodedBody[dict[str, str]]


@get("/admin/canned")
async def canned_page(request: Request[Any, Any, Any]) -> Template:
    return page(request, "admin/canned.html", replies=await canned.all_replies())


@post("/admin/canned", status_code=303)
async def save_canned(request: Request[Any, Any, Any], data: Form) -> Response[Any] | Template:
    """Create a reply, or replace the text of the one with the same shortcut."""
    form = {"shortcut": (data.get("shortcut") or "")[:100], "text": (data.get("text") or "")[:4000]}
    try:
        await canned.save(form["shortcut"], form["text"], by=current_admin(request).username)
    except canned.CannedRefused as refused:
        error = translator(language(request))(f"error.{refused.code}")
        replies = await canned.all_replies()
        return page(request, "admin/canned.html", status_code=refused.status, replies=replies, error=error, form=form)
    return see_other("/admin/canned")


@post("/admin/canned/{shortcut:str}/delete", status_code=303)
async def delete_canned(shortcut: FromPath[str]) -> Response[Any]:
    await canned.delete(shortcut)
    return see_other("/admin/canned")


@get("/admin/canned/suggest")
async def suggest_canned(request: Request[Any, Any, Any]) -> Template:
    """htmx: the replies matching `q` (or the composer's `text`) when it is `/` plus a shortcut's beginning."""
    typed = request.query_params.get("q") or request.query_params.get("text") or ""
    return page(request, "admin/_canned_suggestions.html", suggestions=await canned.suggest(typed[:40]))


router = Router(
    path="/",
    route_handlers=[canned_page, save_canned, delete_canned, suggest_canned],
    guards=[admin_guard],
    include_in_schema=False,
)
