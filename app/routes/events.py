"""Server-sent event streams for visitors and admins: who may follow what, the caps on open streams, and the
cursor. What a stream sends is app/services/streams.py.

The cursor of a new stream is the larger of the `Last-Event-ID` header (native EventSource reconnects) and the
`after` query parameter (the page's own cursor, kept current by app.js for htmx-ext-sse's fresh EventSource that
has no Last-Event-ID).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.types import ASGIApp

from app.routes._common import (
    NOTHING_TO_FOLLOW,
    event_stream,
    last_event_id,
    too_many_streams,
    visitor_token,
)
from app.services.streams import admin_stream, visitor_stream
from app.web import ADMIN_COOKIE, QueryId, QuerySeq, client_ip, in_embed, language, services_of


@get("/chat/events", include_in_schema=False)
async def visitor_events(request: Request[Any, Any, Any], after: QuerySeq = 0) -> ASGIApp:
    services = services_of(request)
    token = visitor_token(request)
    conversation_id = await services.conversations.id_for_visitor_token(token) if token else None
    if token is None or conversation_id is None:
        return NOTHING_TO_FOLLOW  # no conversation, or its token was revoked (the visitor ended it)
    limits = {
        f"conversation:{conversation_id}": services.settings.max_streams_per_conversation,
        f"ip:{client_ip(request)}": services.settings.max_streams_per_ip,
    }
    slot = services.hub.admit(limits)
    if slot is None:
        return too_many_streams(request, limits)
    cursor = max(after, last_event_id(request))
    events = visitor_stream(
        services.streams, conversation_id, token, cursor, language(request), embed=in_embed(request)
    )
    return event_stream(events, slot)


@get("/admin/events", include_in_schema=False)
async def admin_events(request: Request[Any, Any, Any], thread: QueryId = None, after: QuerySeq = 0) -> ASGIApp:
    services = services_of(request)
    identity = await services.auth.session_identity(request.cookies.get(ADMIN_COOKIE))
    if identity is None:
        return NOTHING_TO_FOLLOW
    limits = {f"session:{identity.session_token_hash}": services.settings.max_streams_per_session}
    slot = services.hub.admit(limits)
    if slot is None:
        return too_many_streams(request, limits)
    cursor = max(after, last_event_id(request))
    events = admin_stream(
        services.streams,
        identity.session_token_hash,
        identity.expires_at,
        thread,
        cursor,
        language(request),
        agent=identity.username,
    )
    return event_stream(events, slot)


ROUTES = [visitor_events, admin_events]
