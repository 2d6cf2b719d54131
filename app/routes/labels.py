"""Labels on a conversation (SPEC §10): the form in the conversation's header. htmx answers with the updated labels,
without JavaScript 303 back to the conversation; bad input is a clear 422 and changes nothing. The list's filter
(`/admin?label=`) is read with the list's other choices (app/routes/admin.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, post
from litestar.exceptions import NotFoundException
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.services import labels
from app.web import PathId, admin_guard, is_htmx, language, page, see_other, services_of


@post("/admin/threads/{thread_id:int}/labels", status_code=303)
async def change_labels(
    request: Request[Any, Any, Any], thread_id: PathId, data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    """Add or remove a label (`label`, `action=add|remove`)."""
    services = services_of(request)
    thread = await services.conversations.get(thread_id)
    if thread is None:
        raise NotFoundException("no such conversation")
    error = None
    try:
        current = await labels.change(services.broker, thread.id, data.get("label"), data.get("action"))
    except labels.LabelRefused as refused:
        current, error = await labels.of(thread.id), translator(language(request))(f"error.{refused.code}")
    if not is_htmx(request):
        if error is None:
            return see_other(f"/admin/threads/{thread.id}")
        return page(request, "error.html", status_code=422, status=422, message=error)
    kept = (data.get("label") or "")[: labels.LABEL_MAX * 2] if error else ""
    context = {"thread": thread, "labels": current, "labels_error": error, "label_value": kept}
    return page(request, "admin/_labels.html", status_code=422 if error else 200, **context)


router = Router(path="/", route_handlers=[change_labels], guards=[admin_guard], include_in_schema=False)
