"""Blocking visitors (SPEC §11): from a conversation's header (any agent: block or unblock its visitor) and on
/admin/blocks (owners: every active block, blocking an address or a range, unblocking). Without JavaScript every
form answers 303; a bad duration or address is a clear 422 that keeps what was typed. The refusal itself is
app/web/blocking.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.services.blocks import BlockRefused
from app.web import PathId, acting, admin_guard, is_htmx, language, owner_guard, page, see_other, services_of

Form = URLEncodedBody[dict[str, str]]


async def block_box(request: Request[Any, Any, Any], thread_id: int, **extra: Any) -> Template:
    blocks = await services_of(request).blocks.for_conversation(thread_id)
    return page(request, "admin/_block.html", thread_id=thread_id, blocks=blocks, **extra)


@post("/admin/threads/{thread_id:int}/block", status_code=303)
async def block_visitor(request: Request[Any, Any, Any], thread_id: PathId, data: Form) -> Response[Any] | Template:
    """Block the conversation's visitor (`reason`, `duration`: 12h, 7d, 4w or forever)."""
    try:
        await services_of(request).blocks.block_conversation(
            thread_id, data.get("reason"), data.get("duration"), **acting(request)
        )
    except BlockRefused as refused:
        if refused.code == "block_unknown":
            raise NotFoundException("no such conversation") from None
        error = translator(language(request))(f"error.{refused.code}")
        if not is_htmx(request):
            return page(request, "error.html", status_code=422, status=422, message=error)
        return await block_box(request, thread_id, block_error=error, form=data, status_code=422)
    return see_other(f"/admin/threads/{thread_id}") if not is_htmx(request) else await block_box(request, thread_id)


@post("/admin/threads/{thread_id:int}/unblock", status_code=303)
async def unblock_visitor(request: Request[Any, Any, Any], thread_id: PathId) -> Response[Any] | Template:
    await services_of(request).blocks.unblock_conversation(thread_id, **acting(request))
    return see_other(f"/admin/threads/{thread_id}") if not is_htmx(request) else await block_box(request, thread_id)


@get("/admin/blocks")
async def blocks_page(request: Request[Any, Any, Any]) -> Template:
    return page(request, "admin/blocks.html", blocks=await services_of(request).blocks.active())


@post("/admin/blocks", status_code=303)
async def block_network(request: Request[Any, Any, Any], data: Form) -> Response[Any] | Template:
    """Block an address or a range (`network`, `reason`, `duration`)."""
    blocks = services_of(request).blocks
    try:
        await blocks.block_network(data.get("network"), data.get("reason"), data.get("duration"), **acting(request))
    except BlockRefused as refused:
        error = translator(language(request))(f"error.{refused.code}")
        form = {k: (data.get(k) or "")[:200] for k in ("network", "reason", "duration")}
        return page(request, "admin/blocks.html", status_code=422, blocks=await blocks.active(), error=error, form=form)
    return see_other("/admin/blocks")


@post("/admin/blocks/{block_id:int}/delete", status_code=303)
async def unblock(request: Request[Any, Any, Any], block_id: PathId) -> Response[Any]:
    try:
        await services_of(request).blocks.unblock(block_id, **acting(request))
    except BlockRefused:
        raise NotFoundException("no such block") from None
    return see_other("/admin/blocks")


agent_router = Router(
    path="/", route_handlers=[block_visitor, unblock_visitor], guards=[admin_guard], include_in_schema=False
)
owner_router = Router(
    path="/", route_handlers=[blocks_page, block_network, unblock], guards=[owner_guard], include_in_schema=False
)
