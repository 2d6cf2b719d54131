"""Conversation status and assignment (SPEC §8): the dashboard's forms (htmx answers with the updated controls,
without JavaScript 303 back to the conversation, in the list's view the agent came from) and the JSON API's two
calls. Bad input is a clear 422."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar import Request, Response, Router, post
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.routes._common import COMMON_ERRORS, errors, triage_context
from app.services.status import StatusRefused, ThreadFilter
from app.web import ApiError, PathId, admin_guard, current_admin, is_htmx, language, page, see_other, services_of


@dataclass
class AssignRequest:
    agent: str  # a username, "me", or "" to unassign


@dataclass
class StatusRequest:
    status: str  # open | snoozed | resolved
    until: str | None = None  # snoozed: ISO 8601 or a duration (30m, 2h, 1d, 1w)


@dataclass
class TriageResponse:
    success: bool
    id: int
    conversation_status: str
    snoozed_until: str | None
    assignee: str | None


def _came_from(request: Request[Any, Any, Any], thread_id: int, data: dict[str, str]) -> ThreadFilter | None:
    """The list's view the form was sent from: its `next` is this conversation's page with `view` and `status`.
    Only that view is taken from it, never a place (no open redirect): anything else is None."""
    parts = urlsplit(data.get("next") or "")
    if parts.scheme or parts.netloc or parts.path != f"/admin/threads/{thread_id}":
        return None
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    try:
        return ThreadFilter.parse(query.get("view"), query.get("status"), current_admin(request).username)
    except StatusRefused:
        return None


async def _answer(
    request: Request[Any, Any, Any], thread_id: int, data: dict[str, str], refused: StatusRefused | None
) -> Any:
    """The HTML answer: the conversation header's controls (htmx) or 303 back; 422 with the reason."""
    message = translator(language(request))(f"error.{refused.code}") if refused else None
    view = _came_from(request, thread_id, data)
    if not is_htmx(request):
        if refused is None:
            return see_other(f"/admin/threads/{thread_id}" + (f"?{view.query()}" if view else ""))
        return page(request, "error.html", status_code=422, status=422, message=message)
    thread = await services_of(request).conversations.get(thread_id)
    if thread is None:
        raise NotFoundException("no such conversation")
    context = await triage_context(request, thread)
    status_code = 422 if refused else 200
    return page(request, "admin/_triage.html", status_code=status_code, triage_error=message, view=view, **context)


@post("/admin/threads/{thread_id:int}/status", status_code=303)
async def set_status(
    request: Request[Any, Any, Any], thread_id: PathId, data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    try:
        me = current_admin(request).username
        found = await services_of(request).triage.set_status(thread_id, data.get("status", ""), data.get("until"), me)
    except StatusRefused as refused:
        return await _answer(request, thread_id, data, refused)
    if not found:
        raise NotFoundException("no such conversation")
    return await _answer(request, thread_id, data, None)


@post("/admin/threads/{thread_id:int}/assign", status_code=303)
async def assign(
    request: Request[Any, Any, Any], thread_id: PathId, data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    me = current_admin(request).username
    try:
        found = await services_of(request).triage.assign(thread_id, data.get("agent", ""), me)
    except StatusRefused as refused:
        return await _answer(request, thread_id, data, refused)
    if not found:
        raise NotFoundException("no such conversation")
    return await _answer(request, thread_id, data, None)


async def _api_answer(request: Request[Any, Any, Any], thread_id: int, found: bool) -> TriageResponse:
    thread = await services_of(request).conversations.get(thread_id) if found else None
    if thread is None:
        raise ApiError(detail="no such conversation", status_code=404)
    until = thread.snoozed_until.isoformat() if thread.snoozed_until else None
    return TriageResponse(True, thread.id, thread.status, until, thread.assignee)


def _api_refusal(request: Request[Any, Any, Any], refused: StatusRefused) -> ApiError:
    return ApiError(detail=translator(language(request))(f"error.{refused.code}"), status_code=422)


@post(
    "/api/threads/{thread_id:int}/assign", status_code=200, tags=["threads"], responses=errors(*COMMON_ERRORS, 404, 422)
)
async def api_assign(
    request: Request[Any, Any, Any], thread_id: PathId, data: JSONBody[AssignRequest]
) -> TriageResponse:
    """Assign the conversation to `agent` (a username or `me`), or to nobody with "". 422: unknown or disabled."""
    me = current_admin(request).username
    try:
        found = await services_of(request).triage.assign(thread_id, data.agent, me)
    except StatusRefused as refused:
        raise _api_refusal(request, refused) from None
    return await _api_answer(request, thread_id, found)


@post(
    "/api/threads/{thread_id:int}/status", status_code=200, tags=["threads"], responses=errors(*COMMON_ERRORS, 404, 422)
)
async def api_status(
    request: Request[Any, Any, Any], thread_id: PathId, data: JSONBody[StatusRequest]
) -> TriageResponse:
    """Open, resolve, or snooze (`until`: ISO 8601 or a duration such as 30m, 2h, 1d). 422: bad status or time."""
    try:
        me = current_admin(request).username
        found = await services_of(request).triage.set_status(thread_id, data.status, data.until, me)
    except StatusRefused as refused:
        raise _api_refusal(request, refused) from None
    return await _api_answer(request, thread_id, found)


html_router = Router(path="/", route_handlers=[set_status, assign], guards=[admin_guard], include_in_schema=False)


def make_api_router(middleware: list[Any]) -> Router:
    """The API's two calls, behind the API's session guard and rate limit (as app/routes/api.py's)."""
    return Router(path="/", route_handlers=[api_assign, api_status], guards=[admin_guard], middleware=middleware)
