"""Server-sent event streams for visitors and admins (sse-starlette).

Each message event carries `id: <seq>` (the conversation's gap-free sequence number) and, as data, the same
`_message.html` partial the page uses. The cursor of a new stream is the larger of the `Last-Event-ID` header
(native EventSource reconnects) and the `after` query parameter (the page's own cursor, kept current by app.js
for htmx-ext-sse's fresh EventSource that has no Last-Event-ID). The stream subscribes before it reads, so
nothing committed in between is missed; it sends only seq > cursor, so nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request, get
from litestar.types import ASGIApp
from sse_starlette import ServerSentEvent
from starlette.responses import Response as PlainASGIResponse

from app.clock import now
from app.i18n import translator
from app.services.presence import ADMIN, conversation_subject
from app.services.realtime import (
    ADMIN_TOPIC,
    VISITORS_TOPIC,
    Event,
    StreamSlot,
    Subscription,
    conversation_topic,
    session_topic,
    visitor_topic,
)
from app.sse import PING, EventStream
from app.web import (
    ADMIN_COOKIE,
    VISITOR_COOKIE,
    QueryId,
    QuerySeq,
    Sohbet,
    client_ip,
    in_embed,
    language,
    render_message,
    sohbet,
    thread_display_name,
)

log = logging.getLogger("sohbet.events")

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
CATCHUP_BATCH = 500
# An admin stream rereads its session at least this often: it ends within 5 s of a logout, expiry or revocation
# in any process (SPEC §13), even where no revocation event reached it.
SESSION_RECHECK_SECONDS = 4.0
STREAM_RETRY_SECONDS = 10  # Retry-After of a stream refused by the caps
HINT_SECONDS = 0.25  # a dashboard stream's list refreshes, sounds and read marks: at most this often
# 204 tells EventSource to stop reconnecting: there is nothing for this browser to follow.
NOTHING_TO_FOLLOW = PlainASGIResponse(status_code=204, headers={"Cache-Control": "no-store"})


def last_event_id(request: Request[Any, Any, Any]) -> int:
    raw = request.headers.get("last-event-id", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else 0


def stream_response(events: AsyncIterator[ServerSentEvent], slot: StreamSlot) -> EventStream:
    # On server shutdown the lifespan wakes every stream with SHUTDOWN, so each generator returns and its
    # response ends properly. The slot in the stream caps is given back however the response ends.
    return EventStream(events, SSE_HEADERS, send_timeout=30, on_close=slot.release)


def too_many_streams(request: Request[Any, Any, Any], limits: dict[str, int]) -> PlainASGIResponse:
    """429 when a cap of open streams is reached (SPEC §13). EventSource gives up on it; htmx-ext-sse tries again
    later, with a growing delay."""
    log.info(json.dumps({"event": "stream.refused", "path": request.url.path, "caps": sorted(limits.values())}))
    message = translator(language(request))("error.too_many_streams")
    return PlainASGIResponse(
        message + "\n",
        status_code=429,
        media_type="text/plain",
        headers={"Cache-Control": "no-store", "Retry-After": str(STREAM_RETRY_SECONDS)},
    )


@asynccontextmanager
async def following(app: Sohbet, topics: list[str], subject: str) -> AsyncIterator[Subscription]:
    """A hub subscription plus presence for as long as a stream is open. Subscribing comes first, so nothing
    published while the stream reads its backlog can be missed."""
    subscription = app.hub.subscribe(topics)
    try:
        await app.presence.enter(subject)
    except BaseException:
        app.hub.unsubscribe(subscription)
        raise
    try:
        with app.metrics.stream_open("admin" if subject == ADMIN else "visitor"):
            yield subscription
    finally:
        app.hub.unsubscribe(subscription)
        await app.presence.leave(subject)


def shutting_down(events: list[Event]) -> bool:
    return any(e.kind == "shutdown" for e in events)


class ConversationFeed:
    """Sends one conversation's events from a cursor: catch up from the database, then follow."""

    def __init__(self, app: Sohbet, conversation_id: int, cursor: int, lang: str, viewer: str) -> None:
        self.app = app
        self.conversation_id = conversation_id
        self.cursor = cursor
        self.lang = lang
        self.viewer = viewer
        self.exists = True
        self.delivered_visitor_message = False
        self.stored_at: dict[int, float] = {}  # seq -> when stored, for messages this stream will send live
        self.display_name: str | None = None

    async def catch_up(self) -> list[ServerSentEvent]:
        out: list[ServerSentEvent] = []
        while True:
            owed = await self.app.conversations.catch_up(self.conversation_id, self.cursor, CATCHUP_BATCH)
            if not owed.exists:
                self.exists = False
                return out
            if owed.cleared_seq:
                out.append(ServerSentEvent(data=clear_html(), event="control", id=str(owed.cleared_seq)))
                self.cursor = owed.cleared_seq
            for message in owed.messages:
                if message.seq <= self.cursor:
                    continue
                if self.display_name is None:
                    await self._read_display_name()
                assert self.display_name is not None
                html = render_message(self.app.jinja, message, self.display_name, self.lang, self.viewer)
                out.append(ServerSentEvent(data=html, event="message", id=str(message.seq)))
                self.cursor = message.seq
                if message.sender == "visitor":
                    self.delivered_visitor_message = True
            if len(owed.messages) < CATCHUP_BATCH:
                return out

    async def deliver(self, events: list[Event]) -> list[ServerSentEvent]:
        """What this stream owes after `events`. When they are exactly the next messages (seq cursor+1, +2, …)
        and carry them (stored by this process), straight from memory, each rendered once per viewer and
        language for every stream; after anything else (a gap, a clear, a resync) from the database."""
        fresh = [
            e
            for e in events
            if e.kind in {"resync", "clear_all"} or (e.conversation_id == self.conversation_id and e.seq > self.cursor)
        ]
        if not fresh:
            return []
        expected = range(self.cursor + 1, self.cursor + 1 + len(fresh))
        if any(e.kind != "msg" or e.message is None or e.seq != n for e, n in zip(fresh, expected, strict=True)):
            return await self.catch_up()
        if self.display_name is None:
            await self._read_display_name()
        assert self.display_name is not None
        out: list[ServerSentEvent] = []
        for e in fresh:
            key = (self.viewer, self.lang)
            html = e.rendered.get(key)
            if html is None:
                html = e.rendered[key] = render_message(
                    self.app.jinja, e.message, self.display_name, self.lang, self.viewer
                )
            out.append(ServerSentEvent(data=html, event="message", id=str(e.seq)))
            self.cursor = e.seq
            if e.sender == "visitor":
                self.delivered_visitor_message = True
        return out

    async def _read_display_name(self) -> None:
        """A visitor's name never changes: read once per stream."""
        thread = await self.app.conversations.get(self.conversation_id)
        self.display_name = thread_display_name(thread, self.lang)

    def note(self, events: list[Event]) -> None:
        """Remember when this conversation's new messages were stored, to time their delivery (metrics)."""
        self.stored_at = {seq: at for seq, at in self.stored_at.items() if seq > self.cursor}
        for e in events:
            if e.kind == "msg" and e.at and e.conversation_id == self.conversation_id and e.seq > self.cursor:
                self.stored_at[e.seq] = e.at

    def sent(self, event: ServerSentEvent) -> None:
        """`event` has been written to the stream (the generator resumes only after sse-starlette sent it)."""
        if event.event == "message" and self.stored_at:
            stored_at = self.stored_at.pop(int(event.id or 0), None)
            if stored_at is not None:
                self.app.metrics.delivered(stored_at)

    def concerns_me(self, events: list[Event]) -> bool:
        return any(
            e.kind == "resync"
            or e.kind == "clear_all"
            or (e.conversation_id == self.conversation_id and e.seq > self.cursor)
            for e in events
        )


def clear_html() -> str:
    return '<div id="messages" hx-swap-oob="innerHTML"></div>'


def support_status_html(app: Sohbet, online: bool, lang: str) -> str:
    return app.jinja.get_template("shared/_support_status.html").render(
        t=translator(lang), support_online=online, oob=True
    )


def gone_html(app: Sohbet, lang: str, *, embed: bool = False, ended: bool = False) -> str:
    """The conversation is over for this page: deleted by support, or `ended` (the visitor left, its token is
    revoked)."""
    return app.jinja.get_template("visitor/_gone.html").render(t=translator(lang), oob=True, embed=embed, ended=ended)


class AdminHints:
    """What a dashboard stream owes besides messages: a `threads` refresh of the list, a `notify` sound, marking the
    open conversation read. Each goes at once after a quiet spell, then at most every HINT_SECONDS: under a burst
    a dashboard gets one refresh and one sound per interval instead of several for every message (each `threads`
    makes the browser fetch the list again), and the read mark is one write per interval."""

    def __init__(self) -> None:
        self.threads = self.notify = self.read = False
        self.last_sent = -HINT_SECONDS

    @property
    def owed(self) -> bool:
        return self.threads or self.notify or self.read

    def note(self, events: list[Event]) -> None:
        if any(e.kind == "msg" and e.sender == "visitor" for e in events):
            self.notify = True
        if events:  # any change may touch the list
            self.threads = True

    def may_go(self, moment: float) -> bool:
        return moment - self.last_sent >= HINT_SECONDS

    def wait_seconds(self, moment: float) -> float:
        return max(0.0, self.last_sent + HINT_SECONDS - moment)

    def sent(self, moment: float) -> None:
        self.threads = self.notify = self.read = False
        self.last_sent = moment


@get("/chat/events", include_in_schema=False)
async def visitor_events(request: Request[Any, Any, Any], after: QuerySeq = 0) -> ASGIApp:
    app = sohbet(request)
    token = app.visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
    conversation_id = await app.conversations.id_for_visitor_token(token) if token else None
    if token is None or conversation_id is None:
        return NOTHING_TO_FOLLOW  # no conversation, or its token was revoked (the visitor ended it)
    lang = language(request)
    embed = in_embed(request)  # the widget's iframe: "start a new chat" stays in the compact page
    feed = ConversationFeed(app, conversation_id, max(after, last_event_id(request)), lang, "visitor")
    limits = {
        f"conversation:{conversation_id}": app.settings.max_streams_per_conversation,
        f"ip:{client_ip(request)}": app.settings.max_streams_per_ip,
    }
    slot = app.hub.admit(limits)
    if slot is None:
        return too_many_streams(request, limits)

    async def token_revoked(events: list[Event]) -> bool:
        """Ended by the visitor (a revocation event), or — read again once subscribed and after any broker gap
        (resync), so a revocation in between is never missed — no longer this token's conversation."""
        if any(e.kind == "revoke" for e in events):
            return True
        if any(e.kind == "resync" for e in events):
            return await app.conversations.id_for_visitor_token(token) != conversation_id
        return False

    async def events() -> AsyncIterator[ServerSentEvent]:
        topics = [conversation_topic(conversation_id), visitor_topic(conversation_id), VISITORS_TOPIC]
        async with following(app, topics, conversation_subject(conversation_id)) as subscription:
            support_online = await app.presence.is_online(ADMIN)
            yield ServerSentEvent(data=support_status_html(app, support_online, lang), event="control")
            pending: list[Event] = [Event("resync")]
            while not shutting_down(pending):
                if await token_revoked(pending):
                    yield ServerSentEvent(data=gone_html(app, lang, embed=embed, ended=True), event="control")
                    return
                feed.note(pending)
                if feed.concerns_me(pending):
                    for event in await feed.deliver(pending):
                        yield event
                        feed.sent(event)
                    if not feed.exists:
                        yield ServerSentEvent(data=gone_html(app, lang, embed=embed), event="control")
                        return
                if any(e.kind == "presence" and e.subject == ADMIN for e in pending):
                    online = await app.presence.is_online(ADMIN)
                    if online != support_online:
                        support_online = online
                        yield ServerSentEvent(data=support_status_html(app, online, lang), event="control")
                pending = await subscription.wait(timeout=app.settings.sse_ping_seconds)
                if not pending:
                    yield PING  # idle: keeps proxies from closing the stream

    return stream_response(events(), slot)


class SessionWatch:
    """Keeps an admin stream honest about its session: it rereads the row every SESSION_RECHECK_SECONDS, at the
    session's deadline (idle or absolute timeout) and after a broker gap, so the stream ends within seconds of
    a logout, an expiry or a revocation even where no revocation event reached this process."""

    def __init__(self, app: Sohbet, session_token_hash: str, deadline: float) -> None:
        self.auth = app.auth
        self.session_token_hash = session_token_hash
        self.deadline = deadline
        self.next_check = now() + SESSION_RECHECK_SECONDS

    def wait_seconds(self) -> float:
        return max(0.0, min(self.next_check, self.deadline) - now())

    async def still_valid(self, events: list[Event]) -> bool:
        if any(e.kind == "revoke" for e in events):
            return False
        moment = now()
        if moment >= min(self.next_check, self.deadline) or any(e.kind == "resync" for e in events):
            deadline = await self.auth.session_deadline(self.session_token_hash)
            if deadline is None:
                return False
            self.deadline, self.next_check = deadline, moment + SESSION_RECHECK_SECONDS
        return True


@get("/admin/events", include_in_schema=False)
async def admin_events(request: Request[Any, Any, Any], thread: QueryId = None, after: QuerySeq = 0) -> ASGIApp:
    app = sohbet(request)
    identity = await app.auth.session_identity(request.cookies.get(ADMIN_COOKIE))
    if identity is None:
        return NOTHING_TO_FOLLOW
    lang = language(request)
    cursor = max(after, last_event_id(request))
    session = SessionWatch(app, identity.session_token_hash, identity.expires_at)
    ping_seconds = app.settings.sse_ping_seconds
    limits = {f"session:{identity.session_token_hash}": app.settings.max_streams_per_session}
    slot = app.hub.admit(limits)
    if slot is None:
        return too_many_streams(request, limits)

    async def events() -> AsyncIterator[ServerSentEvent]:
        feed = ConversationFeed(app, thread, cursor, lang, "admin") if thread else None
        topics = [ADMIN_TOPIC, session_topic(identity.session_token_hash)]
        topics += [conversation_topic(thread)] if thread else []
        loop = asyncio.get_running_loop()
        async with following(app, topics, ADMIN) as subscription:
            pending: list[Event] = [Event("resync")]
            hints = AdminHints()
            quiet_since = loop.time()  # when this stream last wrote anything (pings go after ping_seconds)
            while not shutting_down(pending):
                if not await session.still_valid(pending):
                    return  # logged out, expired or revoked: the browser's reconnect gets 204
                if feed is not None:
                    feed.note(pending)
                if feed is not None and feed.concerns_me(pending):
                    for event in await feed.deliver(pending):
                        yield event
                        feed.sent(event)
                        quiet_since = loop.time()
                    if feed.delivered_visitor_message:
                        # The admin is looking at this conversation: what reached the screen is read.
                        feed.delivered_visitor_message = False
                        hints.read = True
                    if not feed.exists:
                        yield ServerSentEvent(data=gone_html(app, lang), event="control")
                        feed = None
                hints.note(pending)
                if hints.owed and hints.may_go(loop.time()):
                    if hints.read and feed is not None:
                        await app.conversations.mark_read(feed.conversation_id)
                    if hints.notify:
                        yield ServerSentEvent(data="1", event="notify")
                    if hints.threads:
                        yield ServerSentEvent(data="1", event="threads")
                    hints.sent(loop.time())
                    quiet_since = loop.time()
                idle = max(0.0, ping_seconds - (loop.time() - quiet_since))
                timeout = min(hints.wait_seconds(loop.time()) if hints.owed else idle, session.wait_seconds())
                pending = await subscription.wait(timeout=timeout)
                if not pending and not hints.owed and loop.time() - quiet_since >= ping_seconds:
                    yield PING  # idle: keeps proxies from closing the stream
                    quiet_since = loop.time()

    return stream_response(events(), slot)


ROUTES = [visitor_events, admin_events]
