"""Admin dashboard: the conversation list, one conversation, replies, clearing (after a confirmation). Guarded by a
live session."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.limits import BODY_LIMIT, UPLOAD
from app.routes._common import (
    refused_redirect,
    respond,
    submit_composer,
    taken_refusal,
    transcript_base_url,
    transcript_format,
    transcript_response,
    triage_context,
)
from app.services import canned, labels
from app.services.availability import AvailabilityRefused, set_availability, team_on_dashboards
from app.services.conversations import ThreadView
from app.services.presence import conversation_subject
from app.services.status import StatusRefused, ThreadFilter
from app.services.threads import THREADS_PAGE, threads_page
from app.services.visitor_names import display_name
from app.web import (
    DB_INT_MAX,
    OptionalQuerySeq,
    PathId,
    QueryId,
    QuerySeq,
    acting,
    admin_guard,
    current_admin,
    is_htmx,
    language,
    owner_guard,
    page,
    see_other,
    services_of,
)

ThreadsBefore = FromQuery[str | None]
SHOWN_MAX = 500  # a refresh lists at most this many conversations, however many pages were appended
QueryShown = Annotated[int, QueryParameter(ge=0, le=DB_INT_MAX)]


def chosen_view(request: Request[Any, Any, Any]) -> ThreadFilter:
    """The list's view from the query (`view`, `status`; default all and open; `label`); 400 for an unknown value."""
    query = request.query_params
    me = current_admin(request).username
    try:
        return ThreadFilter.parse(query.get("view"), query.get("status"), me, query.get("label"))
    except StatusRefused as refused:
        raise ValidationException(refused.code) from None


async def threads_context(
    request: Request[Any, Any, Any], open_id: int | None, before: str | None = None, shown: int = 0
) -> dict[str, Any]:
    """A page of the conversation list for the templates (the newest unless `before`, a cursor from the previous
    page; 400 when it is not one). A refresh of a list that shows `shown` conversations (older pages appended)
    lists as many again, so a live refresh does not take back what the agent loaded."""
    services = services_of(request)
    outbox = services.telegram.outbox if services.telegram is not None else None
    view = chosen_view(request)
    try:
        listed = await threads_page(
            services.conversations,
            services.presence,
            outbox,
            before,
            THREADS_PAGE if before else min(max(shown, THREADS_PAGE), SHOWN_MAX),
            lang=language(request),
            open_id=open_id,
            view=view,
            reader=current_admin(request).username,
            mail=services.mail,
        )
    except ValueError:
        raise ValidationException("before is not a conversation-list cursor") from None
    return {
        "view": view,
        "threads": listed.threads,
        "open_id": open_id,
        "threads_before": before,
        "threads_next": listed.next_before,
        "threads_shown": (shown if before else 0) + len(listed.threads),
        "total_unread": listed.total_unread,
        "telegram_backlog": listed.telegram_backlog,
        "mail_failing": listed.mail_failing,
        "open_thread": listed.open_thread,
        "counts": listed.counts,
        "team_online": await team_on_dashboards(services.presence),
    }


async def open_thread(request: Request[Any, Any, Any], thread_id: int) -> ThreadView:
    thread = await services_of(request).conversations.get(thread_id)
    if thread is None:
        raise NotFoundException("no such conversation")
    return thread


async def thread_context(
    request: Request[Any, Any, Any], thread: ThreadView, before: int | None = None
) -> dict[str, Any]:
    services = services_of(request)
    messages, has_more = await services.conversations.page(thread.id, before)
    return {
        "thread": thread,
        "messages": messages,
        "has_more": has_more,
        "before": before,
        "display_name": display_name(thread, language(request)),
        "cursor": thread.last_seq,
        "viewer": "admin",
        "post_url": f"/admin/threads/{thread.id}/messages",
        "thread_online": await services.presence.is_online(conversation_subject(thread.id)),
        "canned_replies": await canned.all_replies(),
        "labels": await labels.of(thread.id),
        "blocks": await services.blocks.for_conversation(thread.id),
        "seen_id": await services.receipts.last_seen(thread.id, "visitor"),
        **await triage_context(request, thread),
    }


@get("/admin")
async def dashboard(request: Request[Any, Any, Any], before: ThreadsBefore = None) -> Template:
    """The dashboard; `before` (no JavaScript: the "older conversations" link) shows an older page of the list;
    `view` (all, mine, unassigned) and `status` (open, snoozed, resolved) choose which conversations it lists."""
    return page(request, "admin/dashboard.html", **await threads_context(request, None, before))


@get("/admin/threads")
async def threads_fragment(
    request: Request[Any, Any, Any], open_id: QueryId = None, before: ThreadsBefore = None, shown: QueryShown = 0
) -> Template:
    """htmx: the #threads list alone (refreshed on the `threads` SSE event), or with `before` the next page's
    items, appended in place of the "older conversations" link. `shown` (#threads-shown, which both responses
    update) is how many conversations the list holds."""
    context = await threads_context(request, open_id, before, shown)
    return page(request, "admin/_threads_more.html" if before else "admin/_threads_refresh.html", **context)


@get("/admin/threads/{thread_id:int}")
async def thread_page(request: Request[Any, Any, Any], thread_id: PathId, before: OptionalQuerySeq = None) -> Template:
    services = services_of(request)
    thread = await open_thread(request, thread_id)
    if before is None:
        await services.conversations.mark_read(thread.id, current_admin(request).username)
        await services.receipts.saw(thread.id, "admin")  # read receipts: the visitor's messages show "Seen"
    context = await thread_context(request, thread, before)
    refused, dropped = taken_refusal(request)  # a refused post without JavaScript, sent back here
    response = page(request, "admin/dashboard.html", **await threads_context(request, thread.id), **context, **refused)
    response.cookies.extend(dropped)
    return response


@get("/admin/threads/{thread_id:int}/older")
async def older_messages(request: Request[Any, Any, Any], thread_id: PathId, before: QuerySeq) -> Template:
    """htmx: a page of older messages, prepended out of band, and the next "load older" control."""
    thread = await open_thread(request, thread_id)
    return page(request, "admin/_older.html", **await thread_context(request, thread, before))


@get("/admin/threads/{thread_id:int}/transcript")
async def thread_transcript(request: Request[Any, Any, Any], thread_id: PathId) -> Response[Any] | Template:
    """The conversation as text (a download) or `?format=html` (a printable page)."""
    rendered = services_of(request).transcripts.for_agent(
        thread_id, transcript_format(request), lang=language(request), base_url=transcript_base_url(request)
    )
    return await transcript_response(request, rendered)


@post("/admin/threads/{thread_id:int}/messages", status_code=303, opt={BODY_LIMIT: UPLOAD})
async def reply(request: Request[Any, Any, Any], thread_id: PathId) -> Response[Any] | Template:
    thread = await open_thread(request, thread_id)
    me, name = current_admin(request).username, display_name(thread, language(request))
    refusal = await submit_composer(request, thread.id, "admin", f"admin:{me}", author=me, visitor_name=name)
    if refusal is not None and (back := refused_redirect(request, refusal, f"/admin/threads/{thread.id}")) is not None:
        return back

    async def full_context() -> dict[str, Any]:
        return {**await threads_context(request, thread.id), **await thread_context(request, thread)}

    return await respond(
        request,
        refusal,
        post_url=f"/admin/threads/{thread.id}/messages",
        done_url=f"/admin/threads/{thread.id}",
        full_page="admin/dashboard.html",
        full_context=full_context,
        composer={"canned_replies": await canned.all_replies()},
    )


@post("/admin/threads/{thread_id:int}/clear", status_code=303)
async def clear_thread(
    request: Request[Any, Any, Any], thread_id: PathId, data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    """Deletes only with `confirm=yes` (with JavaScript, a dialog asks and adds it); without it, a page asks."""
    thread = await open_thread(request, thread_id)
    if data.get("confirm") != "yes":
        t = translator(language(request))
        return page(
            request,
            "admin/confirm.html",
            question=t("admin.clear_question").format(name=display_name(thread, language(request))),
            detail=t("admin.clear_detail"),
            action=f"/admin/threads/{thread.id}/clear",
            confirm_label=t("admin.clear"),
            cancel_url=f"/admin/threads/{thread.id}",
            path=f"/admin/threads/{thread.id}",  # where the language link returns (this address is POST-only)
        )
    await services_of(request).conversations.clear(thread.id, **acting(request))
    return see_other(f"/admin/threads/{thread.id}")


@post("/admin/clear-all", status_code=303, guards=[owner_guard])  # owners only (SPEC §8): 403 for an agent
async def clear_all(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any] | Template:
    if data.get("confirm") != "yes":
        t = translator(language(request))
        return page(
            request,
            "admin/dashboard.html",
            status_code=422,
            clear_all_error=t("admin.clear_all_needs_confirm"),
            **await threads_context(request, None),
        )
    await services_of(request).conversations.clear_all(**acting(request))
    return see_other("/admin")


@post("/admin/me/availability", status_code=303)
async def availability(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    """The agent's own availability (`online` or `away`): htmx gets the admin bar's switch, else 303 to /admin."""
    value = data.get("availability", "")
    try:
        await set_availability(services_of(request).presence, current_admin(request).username, value)
    except AvailabilityRefused:
        message = translator(language(request))("error.bad_availability")
        if is_htmx(request):
            return page(request, "admin/_availability.html", status_code=422, availability_error=message)
        return page(request, "error.html", status_code=422, status=422, message=message)
    if is_htmx(request):
        return page(request, "admin/_availability.html", availability=value)
    return see_other("/admin")


router = Router(
    path="/",
    route_handlers=[
        dashboard,
        threads_fragment,
        thread_page,
        older_messages,
        thread_transcript,
        reply,
        clear_thread,
        clear_all,
        availability,
    ],
    guards=[admin_guard],
    include_in_schema=False,
)
