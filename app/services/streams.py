"""What a live stream sends, apart from HTTP: the rules of the visitor's and the admin's event streams.

Each message event carries `id: <seq>` (the conversation's gap-free sequence number) and, as data, the same
`_message.html` partial the page uses. A stream subscribes before it reads, so nothing committed in between is
missed; it sends only seq > cursor, so nothing is sent twice. A stream is an async generator of `StreamEvent`s
(and `None` when it has been idle long enough to owe a keep-alive); app/routes/events.py turns them into
server-sent events and keeps the HTTP side (caps, headers, status codes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from jinja2 import Environment

from app.clock import now
from app.i18n import translator
from app.services.auth import AuthService
from app.services.availability import is_away
from app.services.away import SupportStatus
from app.services.conversations import ConversationService, MessageView
from app.services.live_only import LiveOnly, ReceiptDue, StreamEvent
from app.services.metrics import Metrics
from app.services.notes import NOTE
from app.services.presence import ADMIN, PresenceTracker, agent_subject, conversation_subject
from app.services.realtime import (
    ADMIN_TOPIC,
    LIVE_ONLY,
    VISITORS_TOPIC,
    Event,
    Hub,
    Subscription,
    conversation_topic,
    session_topic,
    visitor_topic,
)
from app.services.receipts import Receipts
from app.services.visitor_names import display_name

CATCHUP_BATCH = 500
# An admin stream rereads its session at least this often: it ends within 5 s of a logout, expiry or revocation
# in any process (SPEC §13), even where no revocation event reached it.
SESSION_RECHECK_SECONDS = 4.0
HINT_SECONDS = 0.25  # a dashboard stream's list refreshes, sounds and read marks: at most this often


class Fragments:
    """The partials a stream sends, rendered from the same templates as the pages."""

    def __init__(self, jinja: Environment) -> None:
        self.jinja = jinja

    def message(self, message: MessageView, name: str, lang: str, viewer: str) -> str:
        return self.jinja.get_template("shared/_message.html").render(
            m=message, display_name=name, t=translator(lang), viewer=viewer
        )

    def cleared(self) -> str:
        """Empties the message list (the conversation was cleared)."""
        return self.jinja.get_template("shared/_cleared.html").render()

    def support_status(self, status: SupportStatus, lang: str) -> str:
        return self.jinja.get_template("shared/_support_status.html").render(
            t=translator(lang), support_online=status.online, away=status, oob=True
        )

    def typing(self, sender: str, preview: str, lang: str) -> str:
        """Who is typing (`sender`), with the visitor's draft for agents when TYPING_PREVIEW is on."""
        return self.jinja.get_template("shared/_typing.html").render(t=translator(lang), sender=sender, preview=preview)

    def seen(self, message_id: str, lang: str) -> str:
        """Moves "Seen" to the message `message_id` (out of band)."""
        return self.jinja.get_template("shared/_seen_oob.html").render(t=translator(lang), message_id=message_id)

    def gone(self, lang: str, *, embed: bool = False, ended: bool = False) -> str:
        """The conversation is over for this page: deleted by support, or `ended` (the visitor left, its token is
        revoked)."""
        return self.jinja.get_template("visitor/_gone.html").render(
            t=translator(lang), oob=True, embed=embed, ended=ended
        )


@dataclass(frozen=True)
class StreamServices:
    """What a stream reads and follows."""

    conversations: ConversationService
    presence: PresenceTracker
    hub: Hub
    metrics: Metrics
    auth: AuthService
    fragments: Fragments
    ping_seconds: float
    # A visitor stream opened or closed: what it shows is seen (replies by email skip it: app/services/replies.py).
    seen: Callable[[int], Awaitable[None]] | None = None
    receipts: Receipts | None = None  # read receipts ("Seen"); None: not kept
    # What the visitor's status line says (the app: business hours too, app/services/away.py); None: presence only.
    support: Callable[[], Awaitable[SupportStatus]] | None = None
    # Inside business hours now (no query): a visitor stream rechecks the status line when this flips.
    in_hours: Callable[[], bool] | None = None

    async def support_status(self) -> SupportStatus:
        if self.support is not None:
            return await self.support()
        return SupportStatus(await self.presence.is_online(ADMIN))


@asynccontextmanager
async def seeing(services: StreamServices, conversation_id: int) -> AsyncIterator[None]:
    """Marks the conversation seen when the visitor stream opens and again when it closes."""
    if services.seen is None:
        yield
        return
    await services.seen(conversation_id)
    try:
        yield
    finally:  # usually while being cancelled (the client went away): the update runs in its own task
        with contextlib.suppress(Exception):  # the database away: at worst a reply seen live is mailed
            await asyncio.shield(asyncio.ensure_future(services.seen(conversation_id)))


def shutting_down(events: list[Event]) -> bool:
    return any(e.kind == "shutdown" for e in events)


@asynccontextmanager
async def following(
    services: StreamServices, topics: list[str], subject: str, agent: str | None = None
) -> AsyncIterator[Subscription]:
    """A hub subscription plus presence for as long as a stream is open (an admin stream's `agent` too).
    Subscribing comes first, so nothing published while the stream reads its backlog can be missed."""
    hub = services.hub
    subscription = hub.subscribe(topics)
    subjects = [subject] + ([agent_subject(agent)] if agent else [])
    entered: list[str] = []
    try:
        for each in subjects:
            await services.presence.enter(each)
            entered.append(each)
    except BaseException:
        hub.unsubscribe(subscription)
        for each in entered:
            await services.presence.leave(each)
        raise
    try:
        with services.metrics.stream_open("admin" if subject == ADMIN else "visitor"):
            yield subscription
    finally:
        hub.unsubscribe(subscription)
        for each in entered:
            await services.presence.leave(each)


class ConversationFeed:
    """Sends one conversation's events from a cursor: catch up from the database, then follow."""

    def __init__(self, services: StreamServices, conversation_id: int, cursor: int, lang: str, viewer: str) -> None:
        self.conversations = services.conversations
        self.metrics = services.metrics
        self.fragments = services.fragments
        self.conversation_id = conversation_id
        self.cursor = cursor
        self.lang = lang
        self.viewer = viewer
        self.exists = True
        self.delivered_visitor_message = False
        self.delivered_reply = False  # an agent's message reached this (visitor's) stream
        self.stored_at: dict[int, float] = {}  # seq -> when stored, for messages this stream will send live
        self.display_name: str | None = None

    async def catch_up(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        while True:
            owed = await self.conversations.catch_up(self.conversation_id, self.cursor, CATCHUP_BATCH)
            if not owed.exists:
                self.exists = False
                return out
            if owed.cleared_seq:
                out.append(StreamEvent(event="control", data=self.fragments.cleared(), id=str(owed.cleared_seq)))
                self.cursor = owed.cleared_seq
            for message in owed.messages:
                if message.seq <= self.cursor:
                    continue
                if self.hides(message.sender):
                    self.cursor = message.seq
                    continue
                name = await self._display_name()
                html = self.fragments.message(message, name, self.lang, self.viewer)
                out.append(StreamEvent(event="message", data=html, id=str(message.seq)))
                self.cursor = message.seq
                self.delivered(message.sender)
            if len(owed.messages) < CATCHUP_BATCH:
                return out

    async def deliver(self, events: list[Event]) -> list[StreamEvent]:
        """What this stream owes after `events`. When they are exactly the next messages (seq cursor+1, +2, …)
        and carry them (stored by this process), straight from memory, each rendered once per viewer and
        language for every stream; after anything else (a gap, a clear, a resync) from the database."""
        fresh = [
            e
            for e in events
            if e.kind in {"resync", "clear_all"}
            or (e.kind not in LIVE_ONLY and e.conversation_id == self.conversation_id and e.seq > self.cursor)
        ]
        if not fresh:
            return []
        expected = range(self.cursor + 1, self.cursor + 1 + len(fresh))
        if any(e.kind != "msg" or e.message is None or e.seq != n for e, n in zip(fresh, expected, strict=True)):
            return await self.catch_up()
        name = await self._display_name()
        out: list[StreamEvent] = []
        key = (self.viewer, self.lang)
        for e in fresh:
            if self.hides(e.sender):
                self.cursor = e.seq
                continue
            html = e.rendered.get(key)
            if html is None:
                html = e.rendered[key] = self.fragments.message(e.message, name, self.lang, self.viewer)
            out.append(StreamEvent(event="message", data=html, id=str(e.seq)))
            self.cursor = e.seq
            self.delivered(e.sender)
        return out

    def delivered(self, sender: str) -> None:
        if sender == "visitor":
            self.delivered_visitor_message = True
        elif sender == "admin":
            self.delivered_reply = True

    def hides(self, sender: str) -> bool:
        """A note is never sent to a visitor; the cursor still moves past it (its number is not owed)."""
        return sender == NOTE and self.viewer == "visitor"

    async def _display_name(self) -> str:
        """A visitor's name never changes: read once per stream."""
        if self.display_name is None:
            self.display_name = display_name(await self.conversations.get(self.conversation_id), self.lang)
        return self.display_name

    def note(self, events: list[Event]) -> None:
        """Remember when this conversation's new messages were stored, to time their delivery (metrics)."""
        self.stored_at = {seq: at for seq, at in self.stored_at.items() if seq > self.cursor}
        for e in events:
            if e.kind == "msg" and e.at and e.conversation_id == self.conversation_id and e.seq > self.cursor:
                self.stored_at[e.seq] = e.at

    def sent(self, event: StreamEvent) -> None:
        """`event` has been written to the stream (the generator resumes only after it was sent)."""
        if event.event == "message" and self.stored_at:
            stored_at = self.stored_at.pop(int(event.id or 0), None)
            if stored_at is not None:
                self.metrics.delivered(stored_at)

    def concerns_me(self, events: list[Event]) -> bool:
        return any(
            e.kind == "resync"
            or e.kind == "clear_all"
            or (e.kind not in LIVE_ONLY and e.conversation_id == self.conversation_id and e.seq > self.cursor)
            for e in events
        )


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
        if any(e.kind not in LIVE_ONLY for e in events):  # any change may touch the list (typing: never)
            self.threads = True

    def may_go(self, moment: float) -> bool:
        return moment - self.last_sent >= HINT_SECONDS

    def wait_seconds(self, moment: float) -> float:
        return max(0.0, self.last_sent + HINT_SECONDS - moment)

    def sent(self, moment: float) -> None:
        self.threads = self.notify = self.read = False
        self.last_sent = moment


class SessionWatch:
    """Keeps an admin stream honest about its session: it rereads the row every SESSION_RECHECK_SECONDS, at the
    session's deadline (idle or absolute timeout) and after a broker gap, so the stream ends within seconds of
    a logout, an expiry or a revocation even where no revocation event reached this process."""

    def __init__(self, auth: AuthService, session_token_hash: str, deadline: float) -> None:
        self.auth = auth
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


async def visitor_stream(
    services: StreamServices, conversation_id: int, token: str, cursor: int, lang: str, *, embed: bool
) -> AsyncGenerator[StreamEvent | None, None]:
    """A visitor's stream: support's presence, then the conversation's messages from `cursor`, until the visitor
    ends the conversation (its token revoked), support deletes it, or the server shuts down. `embed`: the widget's
    iframe ("start a new chat" stays in the compact page)."""
    conversations = services.conversations
    fragments = services.fragments
    feed = ConversationFeed(services, conversation_id, cursor, lang, "visitor")

    async def token_revoked(events: list[Event]) -> bool:
        """Ended by the visitor (a revocation event), or — read again once subscribed and after any broker gap
        (resync), so a revocation in between is never missed — no longer this token's conversation."""
        if any(e.kind == "revoke" for e in events):
            return True
        if any(e.kind == "resync" for e in events):
            return await conversations.id_for_visitor_token(token) != conversation_id
        return False

    topics = [conversation_topic(conversation_id), visitor_topic(conversation_id), VISITORS_TOPIC]
    subject = conversation_subject(conversation_id)
    loop = asyncio.get_running_loop()
    live = LiveOnly(fragments, "admin", lang)
    receipt = ReceiptDue(services.receipts)
    async with following(services, topics, subject) as subscription, seeing(services, conversation_id):
        support = await services.support_status()
        hours = services.in_hours() if services.in_hours else True
        yield StreamEvent(event="control", data=fragments.support_status(support, lang))
        pending: list[Event] = [Event("resync")]
        while not shutting_down(pending):
            if await token_revoked(pending):
                yield StreamEvent(event="control", data=fragments.gone(lang, embed=embed, ended=True))
                return
            feed.note(pending)
            if feed.concerns_me(pending):
                for event in await feed.deliver(pending):
                    yield event
                    feed.sent(event)
                if not feed.exists:
                    yield StreamEvent(event="control", data=fragments.gone(lang, embed=embed))
                    return
            for event in live.events(pending, conversation_id, loop.time()):
                yield event
            if live.cleared(loop.time(), feed.delivered_reply) is not None:  # the status line says "typing"
                yield StreamEvent(event="typing", data=fragments.support_status(support, lang))
            receipt.note(feed.delivered_reply)
            feed.delivered_reply = False
            await receipt.write_if_due(loop.time(), conversation_id, "visitor")
            opened = services.in_hours() if services.in_hours else True
            if opened != hours or any(e.kind == "presence" and e.subject == ADMIN for e in pending):
                hours = opened
                fresh = await services.support_status()
                if fresh != support:
                    support = fresh
                    yield StreamEvent(event="control", data=fragments.support_status(fresh, lang))
            timeout = receipt.wait_seconds(loop.time(), live.wait_seconds(loop.time(), services.ping_seconds))
            pending = await subscription.wait(timeout=timeout)
            if not pending and timeout >= services.ping_seconds:
                yield None  # idle: keeps proxies from closing the stream


async def admin_stream(
    services: StreamServices,
    session_token_hash: str,
    deadline: float,
    thread: int | None,
    cursor: int,
    lang: str,
    agent: str | None = None,
) -> AsyncGenerator[StreamEvent | None, None]:
    """A dashboard's stream: `threads` and `notify` hints, and the open conversation's (`thread`) messages from
    `cursor`, until the session is over (logged out, expired, revoked) or the server shuts down. The `agent`'s
    own state: what they read is read for them only, and while they are away no `notify` (sound) is sent."""
    session = SessionWatch(services.auth, session_token_hash, deadline)
    ping_seconds = services.ping_seconds
    feed = ConversationFeed(services, thread, cursor, lang, "admin") if thread else None
    topics = [ADMIN_TOPIC, session_topic(session_token_hash)]
    topics += [conversation_topic(thread)] if thread else []
    loop = asyncio.get_running_loop()
    live = LiveOnly(services.fragments, "visitor", lang)
    receipt = ReceiptDue(services.receipts)
    async with following(services, topics, ADMIN, agent) as subscription:
        pending: list[Event] = [Event("resync")]
        hints = AdminHints()
        quiet_since = loop.time()  # when this stream last wrote anything (pings go after ping_seconds)
        away = await is_away(agent) if agent else False
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
                    receipt.note(True)
                if not feed.exists:
                    yield StreamEvent(event="control", data=services.fragments.gone(lang))
                    feed = None
            if feed is not None:
                for event in live.events(pending, feed.conversation_id, loop.time()):
                    yield event
                    quiet_since = loop.time()
            if (cleared := live.cleared(loop.time(), hints.read)) is not None:
                yield cleared
            hints.note(pending)
            if agent and any(e.kind == "presence" and e.subject == agent_subject(agent) for e in pending):
                away = await is_away(agent)  # their availability may have changed
            if hints.owed and hints.may_go(loop.time()):
                if hints.read and feed is not None:
                    await services.conversations.mark_read(feed.conversation_id, agent)
                if hints.notify and not away:
                    yield StreamEvent(event="notify", data="1")
                if hints.threads:
                    yield StreamEvent(event="threads", data="1")
                hints.sent(loop.time())
                quiet_since = loop.time()
            await receipt.write_if_due(loop.time(), feed.conversation_id if feed else None, "admin")
            idle = max(0.0, ping_seconds - (loop.time() - quiet_since))
            timeout = min(hints.wait_seconds(loop.time()) if hints.owed else idle, session.wait_seconds())
            timeout = receipt.wait_seconds(loop.time(), live.wait_seconds(loop.time(), timeout))
            pending = await subscription.wait(timeout=timeout)
            if not pending and not hints.owed and loop.time() - quiet_since >= ping_seconds:
                yield None  # idle: keeps proxies from closing the stream
                quiet_since = loop.time()
