"""Private helpers shared by the route modules (no handlers here): what several routes read from a request the
same way, and the HTTP side of answers they share. A route module imports no other route module, only this one."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from litestar import Request, Response
from litestar.datastructures import Cookie, UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template
from litestar.types import ASGIApp
from sse_starlette import ServerSentEvent
from starlette.responses import Response as PlainASGIResponse

from app.i18n import translator
from app.services import canned, notes
from app.services.conversations import ThreadView
from app.services.crypto import Signer
from app.services.messaging import SendRefused
from app.services.realtime import StreamSlot
from app.services.streams import StreamEvent
from app.services.transcripts import RenderedTranscript, TranscriptRefused
from app.sse import PING, EventStream
from app.web import (
    VISITOR_COOKIE,
    allowed_embed_origins,
    clean_source_url,
    cookie,
    expired_cookie,
    in_embed,
    is_htmx,
    language,
    own_origins,
    page,
    see_other,
    services_of,
)

# -- the visitor's conversation, the visitor page, the event streams ------------------------------------------

log_events = logging.getLogger("sohbet.events")
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
STREAM_RETRY_SECONDS = 10  # Retry-After of a stream refused by the caps
# 204 tells EventSource to stop reconnecting: there is nothing for this browser to follow. (Starlette's responses
# are ASGI apps whose signature is looser than Litestar's ASGIApp type.)
NOTHING_TO_FOLLOW = cast(ASGIApp, PlainASGIResponse(status_code=204, headers={"Cache-Control": "no-store"}))


def visitor_token(request: Request[Any, Any, Any]) -> str | None:
    """The visitor's bearer token, from its signed cookie (None when absent or tampered with)."""
    return services_of(request).visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))


async def visitor_conversation(request: Request[Any, Any, Any]) -> ThreadView | None:
    """The conversation this browser's signed cookie is bound to, if it still exists."""
    return await services_of(request).visitor_pages.conversation(visitor_token(request))


def source_context(
    request: Request[Any, Any, Any], url: str | None, referrer: str | None, *, allowed: list[str] | None = None
) -> dict[str, str | None]:
    """Visitor context for a new conversation: the host page (its origin must be allowed to embed us) and that
    page's referrer (any http(s) URL). Anything else is dropped, never stored; the referrer only with a page."""
    page_url = clean_source_url(url, allowed if allowed is not None else allowed_embed_origins(request))
    return {"source_url": page_url, "source_referrer": clean_source_url(referrer, None) if page_url else None}


def last_event_id(request: Request[Any, Any, Any]) -> int:
    raw = request.headers.get("last-event-id", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else 0


def event_stream(events: AsyncGenerator[StreamEvent | None, None], slot: StreamSlot) -> EventStream:
    """The server-sent events response for a stream. On server shutdown the lifespan wakes every stream with
    SHUTDOWN, so each generator returns and its response ends properly. The slot in the stream caps is given back
    however the response ends."""

    async def encoded() -> AsyncGenerator[ServerSentEvent, None]:
        async with aclosing(events):  # the stream's own clean-up (presence, subscription) runs when this one's does
            async for event in events:
                yield PING if event is None else ServerSentEvent(data=event.data, event=event.event, id=event.id)

    return EventStream(encoded(), SSE_HEADERS, send_timeout=30, on_close=slot.release)


def too_many_streams(request: Request[Any, Any, Any], limits: dict[str, int]) -> ASGIApp:
    """429 when a cap of open streams is reached (SPEC §13). EventSource gives up on it; htmx-ext-sse tries again
    later, with a growing delay."""
    log_events.info(json.dumps({"event": "stream.refused", "path": request.url.path, "caps": sorted(limits.values())}))
    message = translator(language(request))("error.too_many_streams")
    refusal = PlainASGIResponse(
        message + "\n",
        status_code=429,
        media_type="text/plain",
        headers={"Cache-Control": "no-store", "Retry-After": str(STREAM_RETRY_SECONDS)},
    )
    return cast(ASGIApp, refusal)


async def visitor_page_response(
    request: Request[Any, Any, Any],
    conversation: ThreadView | None,
    source: dict[str, str | None] | None = None,
    **extra: Any,
) -> Template:
    """visitor/index.html, at `/` or in the widget (`/embed`): the conversation, or the start form carrying
    `source`. A visitor cookie whose conversation is gone is dropped."""
    services = services_of(request)
    context = await services.visitor_pages.page(conversation, language(request), embed=in_embed(request), source=source)
    refused, dropped = taken_refusal(request)
    response = page(request, "visitor/index.html", **context, **extra, **(refused if conversation else {}))
    response.cookies.extend(dropped)
    if conversation is None and request.cookies.get(VISITOR_COOKIE):
        response.cookies.append(expired_cookie(services.settings, VISITOR_COOKIE))
    return response


# -- the message composer (visitor and admin forms) -------------------------------------------------------------

TEXT_KEPT = 8000  # characters of a refused post's text put back into the composer


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message was not stored; the composer is shown again with this and the text kept. `code`: the i18n
    key after `error.`; `page_form`: posted by the page's own form without JavaScript (its <noscript> field)."""

    status: int
    error: str
    text: str
    code: str = ""
    page_form: bool = False


async def submit_composer(
    request: Request[Any, Any, Any],
    conversation_id: int,
    sender: str,
    limiter_key: str,
    author: str | None = None,
    visitor_name: str | None = None,
) -> Refusal | None:
    """Read the composer form (text, `client_msg_id`, a file) and send it. None on success — also for a repeat of
    a post already stored, answered as the first one was. `visitor_name` (the agent's composer): a chosen canned
    reply (`canned`) is added and `{name}` filled in (app/services/canned.py); `kind=note` makes it a private note
    (app/services/notes.py)."""
    form = await request.form()
    text = str(form.get("text") or "")
    if visitor_name is not None:
        try:
            sender = notes.composer_sender(str(form.get("kind") or ""))
            sent = await canned.compose(text, str(form.get("canned") or ""), visitor_name)
        except (canned.CannedRefused, notes.NoteRefused) as refused:
            message = translator(language(request))(f"error.{refused.code}")
            status = refused.status if isinstance(refused, canned.CannedRefused) else 422
            return Refusal(status, message, text[:TEXT_KEPT], refused.code, form.get("nojs") == "1")
    else:
        sent = text
    # Two inputs may carry a file (the picker and, without a recorder, the voice-note capture): the first wins.
    uploads = [f for f in form.getall("file") if isinstance(f, UploadFile) and f.filename] if "file" in form else []
    try:
        await services_of(request).messaging.send(
            conversation_id,
            sender,
            sent,
            upload=uploads[0] if uploads else None,
            client_msg_id=str(form.get("client_msg_id") or "") or None,
            limiter_key=limiter_key,
            author=author,
        )
    except SendRefused as refused:
        t = translator(language(request))
        kept = text[:TEXT_KEPT]
        return Refusal(refused.status, t(f"error.{refused.code}"), kept, refused.code, form.get("nojs") == "1")
    return None


REFUSED_COOKIE = "sohbet_refused"
REFUSED_COOKIE_MAX = 3000  # characters of its value (browsers keep about 4 KB per cookie)
REFUSED_AGE = 300  # seconds


def _refusal_signer(request: Request[Any, Any, Any]) -> Signer:
    return Signer(services_of(request).settings.secret_key, "refused")


def refused_redirect(request: Request[Any, Any, Any], refusal: Refusal, page_url: str) -> Redirect | None:
    """A refusal of the page's own form without JavaScript: 303 back to the page (`page_url`, a path), so the
    address bar never stays on the POST URL (whose reload posts again, and whose GET is no page); the error and the
    typed text ride along in a signed cookie, bound to that page, which reads it once (the visitor's page and an
    admin's conversation each read only their own). None for any other client, or when the text is too long for a
    cookie: the page is then answered in place, with the refusal's status."""
    if not refusal.page_form or is_htmx(request):
        return None
    payload = json.dumps([refusal.code, refusal.text, page_url], ensure_ascii=False).encode()
    value = _refusal_signer(request).sign(base64.urlsafe_b64encode(payload).decode())
    if len(value) > REFUSED_COOKIE_MAX:
        return None
    settings = services_of(request).settings
    return see_other(page_url, cookies=[cookie(settings, REFUSED_COOKIE, value, max_age=REFUSED_AGE)])


def taken_refusal(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], list[Cookie]]:
    """What refused_redirect() carried for this page, for the composer (`error`, `text_value`), and the cookie's
    removal. A refusal bound to another page is left for that page (it expires on its own)."""
    raw = request.cookies.get(REFUSED_COOKIE)
    if not raw:
        return {}, []
    dropped = [expired_cookie(services_of(request).settings, REFUSED_COOKIE)]
    payload = _refusal_signer(request).unsign(raw)
    try:
        code, text, page_url = json.loads(base64.urlsafe_b64decode(payload or "")) if payload else ("", "", "")
    except (ValueError, TypeError):
        return {}, dropped
    if not isinstance(code, str) or not isinstance(text, str) or not code:
        return {}, dropped
    if page_url != request.url.path:
        return {}, []
    t = translator(language(request))
    return {"error": t(f"error.{code}"), "text_value": text[:TEXT_KEPT]}, dropped


async def respond(
    request: Request[Any, Any, Any],
    refusal: Refusal | None,
    *,
    post_url: str,
    done_url: str,
    full_page: str,
    full_context: Callable[[], Awaitable[dict[str, Any]]],
    composer: dict[str, Any] | None = None,
) -> Response[Any] | Template:
    """The answer to a composer post: for htmx a fresh composer (or the refused one, text kept); without
    JavaScript a 303 to the conversation (or the whole page again with the error). `composer`: more for the
    composer's template (the agent's canned replies)."""
    extra = composer or {}
    if refusal is None:
        if is_htmx(request):
            return page(request, "shared/_composer.html", post_url=post_url, autofocus=True, **extra)
        return see_other(done_url)
    refused: dict[str, Any] = {"status_code": refusal.status, "error": refusal.error, "text_value": refusal.text}
    if is_htmx(request):
        return page(request, "shared/_composer.html", post_url=post_url, **refused, **extra)
    return page(request, full_page, **refused, **await full_context())


# -- transcripts (visitor and admin) -----------------------------------------------------------------------------


def transcript_format(request: Request[Any, Any, Any]) -> str:
    return request.query_params.get("format") or "text"


def transcript_base_url(request: Request[Any, Any, Any]) -> str:
    """Sohbet's own origin, for the absolute attachment links of a text transcript (PUBLIC_URL in production)."""
    return own_origins(request)[0]


async def transcript_response(
    request: Request[Any, Any, Any], rendered: Awaitable[RenderedTranscript]
) -> Response[Any] | Template:
    """A transcript: text as a download, HTML as a page; a refusal as the error page, with its status."""
    try:
        transcript = await rendered
    except TranscriptRefused as refused:
        message = translator(language(request))(f"error.{refused.code}")
        return page(request, "error.html", status_code=refused.status, status=refused.status, message=message)
    disposition = "attachment" if transcript.as_download else "inline"
    headers = {"Content-Disposition": f'{disposition}; filename="{transcript.filename}"'}
    return Response(transcript.body, media_type=transcript.media_type, headers=headers)


# -- the JSON API's error responses (every API route module documents them the same way) -----------------------


@dataclass
class ErrorBody:
    """Every refusal of the API, whatever its status."""

    success: bool
    error: str
    code: str
    status: int


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The error responses an operation may give, for the OpenAPI document (they all share one shape)."""
    return {
        status: ResponseSpec(data_container=ErrorBody, description=HTTPStatus(status).phrase, generate_examples=False)
        for status in statuses
    }


# Every operation: bad input, no session, CSRF refused, method not allowed, rate limited, server error, database
# unavailable (503 + Retry-After: PostgreSQL down or restarting, SQLite's disk full — try again).
COMMON_ERRORS = (400, 401, 403, 405, 429, 500, 503)


# -- a conversation's status and assignee (the dashboard's conversation header) -------------------------------


async def triage_context(request: Request[Any, Any, Any], thread: ThreadView) -> dict[str, Any]:
    """What admin/_triage.html shows: the conversation's status and assignee, the agents it can go to, and the
    visitor's ratings of its resolutions."""
    services = services_of(request)
    members = await services.agents.members()
    ratings = await services.ratings.for_conversation(thread.id)
    return {"thread": thread, "assignable": [m for m in members if not m.disabled], "ratings": ratings}
