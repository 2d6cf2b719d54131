"""Real-time plumbing: a local hub that wakes SSE streams, and the broker that feeds it.

Events carry ids, never bodies: a stream that wakes reads what it has not sent yet from the database, from its
own cursor. So a missed or duplicated notification can delay a message but never lose or repeat one, and a
broker that reconnects only has to wake every stream once ("resync").

- SQLite (one process): `MemoryBroker` hands events to the hub after the transaction commits.
- PostgreSQL: `PostgresBroker` sends `pg_notify` inside the storing transaction (delivered on commit, in commit
  order) and keeps one LISTEN connection per process, reconnecting by itself after a database restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

log = logging.getLogger("sohbet.realtime")

CHANNEL = "sohbet_events"
ADMIN_TOPIC = "admin"
VISITORS_TOPIC = "visitors"
SETTINGS_TOPIC = "settings"  # workspace settings changed (app/services/workspace.py)


@dataclass(frozen=True, slots=True)
class Event:
    """Something changed. `kind`: msg, clear, thread, presence, clear_all, revoke; and the live-only ones (LIVE_ONLY:
    typing, read), which name in `sender` who types or has read, carry a draft's preview or the id of the last
    message read in `text`, and never a `seq` (streams send them without an SSE id). `at`: when a message was stored
    (wall clock, just before its commit; 0 for other kinds) — only for the delivery-latency metric. A `revoke`
    names in `subject` the topic whose streams must end (an admin session's, a visitor token's).

    In the process that stored it (the only one on SQLite), a `msg` event also carries the message itself
    (`message`, a MessageView), so a stream whose cursor is just before it can send it without reading the
    database; `rendered` caches its HTML per (viewer, language), shared by every stream. Neither crosses
    processes: an event from NOTIFY has ids only and streams read the database, as after any gap."""

    kind: str
    conversation_id: int = 0
    seq: int = 0
    sender: str = ""
    subject: str = ""
    at: float = 0.0
    text: str = ""
    message: Any = field(default=None, compare=False, repr=False)
    rendered: dict[tuple[str, str], str] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> str:
        data: dict[str, Any] = {"k": self.kind, "c": self.conversation_id, "s": self.seq, "f": self.sender}
        data["p"] = self.subject
        if self.at:
            data["t"] = round(self.at, 6)
        if self.text:
            data["x"] = self.text
        if self.message is not None:
            data["m"] = self.message.id  # the message's id, never its text
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, payload: str, messages: dict[int, Any] | None = None) -> Event:
        """`messages`: this process's recently stored messages by id; the event takes its own (once)."""
        data = json.loads(payload)
        message_id = data.get("m")
        return cls(
            kind=str(data["k"]),
            conversation_id=int(data.get("c") or 0),
            seq=int(data.get("s") or 0),
            sender=str(data.get("f") or ""),
            subject=str(data.get("p") or ""),
            at=float(data.get("t") or 0.0),
            text=str(data.get("x") or ""),
            message=messages.pop(message_id, None) if messages and isinstance(message_id, int) else None,
        )

    def topics(self) -> tuple[str, ...]:
        if self.kind in {"msg", "clear"}:
            return (conversation_topic(self.conversation_id), ADMIN_TOPIC)
        if self.kind in LIVE_ONLY:
            return (conversation_topic(self.conversation_id),)
        if self.kind == "thread":
            return (conversation_topic(self.conversation_id), ADMIN_TOPIC)
        if self.kind == "presence":
            return (VISITORS_TOPIC,) if self.subject == "admin" else (ADMIN_TOPIC,)
        if self.kind == "clear_all":
            return (ADMIN_TOPIC, VISITORS_TOPIC)
        if self.kind == "revoke":
            return (self.subject,)
        if self.kind == "settings":
            return (SETTINGS_TOPIC,)
        return ()


RESYNC = Event(kind="resync")
SHUTDOWN = Event(kind="shutdown")
ENDINGS = frozenset({"shutdown", "revoke"})  # events after which a stream ends
LIVE_ONLY = frozenset({"typing", "read"})  # sent to the screens following a conversation, never stored or replayed


def conversation_topic(conversation_id: int) -> str:
    return f"c:{conversation_id}"


def session_topic(session_token_hash: str) -> str:
    """The topic of one admin session's streams (a prefix of the token's hash: never the token itself)."""
    return f"s:{session_token_hash[:32]}"


def visitor_topic(conversation_id: int) -> str:
    """The topic of the visitor streams of one conversation (not the admin's streams of it)."""
    return f"v:{conversation_id}"


def revocation(topic: str) -> Event:
    """Ends every stream subscribed to `topic`, in every process."""
    return Event("revoke", subject=topic)


class Subscription:
    """One stream's mailbox. Events pile up until the stream wakes; too many collapse into one resync."""

    MAX_PENDING = 256
    __slots__ = ("_wake", "pending", "topics")

    def __init__(self, topics: tuple[str, ...]) -> None:
        self.topics = topics
        self.pending: list[Event] = []
        self._wake = asyncio.Event()

    def push(self, event: Event) -> None:
        if len(self.pending) >= self.MAX_PENDING:
            # A resync covers every message event; a shutdown or a revocation must survive the collapse.
            ending = [e for e in (*self.pending, event) if e.kind in ENDINGS][:2]
            self.pending = [RESYNC, *ending]
        else:
            self.pending.append(event)
        self._wake.set()

    async def wait(self, timeout: float) -> list[Event]:  # noqa: ASYNC109 - a wake-up deadline, not a cancel
        """Events since the last call; [] after `timeout` seconds of silence."""
        if not self.pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # not wait_for: in 3.11 that is a new task per wait
                    await self._wake.wait()
        self._wake.clear()
        events, self.pending = self.pending, []
        return events


class StreamSlot:
    """One admitted stream's place in the counts; `release()` (idempotent) gives it back."""

    __slots__ = ("_keys", "_open")

    def __init__(self, open_counts: Counter[str], keys: tuple[str, ...]) -> None:
        self._open, self._keys = open_counts, keys

    def release(self) -> None:
        for key in self._keys:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]
        self._keys = ()


class Hub:
    """In-process fan-out from topics to subscriptions (the Quart chat example's broker, with topics), and the
    counts of open streams per conversation, client address and admin session behind the caps (SPEC §13)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._open: Counter[str] = Counter()
        self._watchers: dict[str, list[Callable[[Event], None]]] = defaultdict(list)

    def watch(self, topic: str, callback: Callable[[Event], None]) -> None:
        """Call `callback` (in the event loop, not a stream) with every event on `topic`, and with RESYNC."""
        self._watchers[topic].append(callback)

    def admit(self, limits: dict[str, int]) -> StreamSlot | None:
        """A slot for one more stream counted under every key of `limits` (key -> most open at once), or None
        when one of them is full."""
        if any(self._open[key] >= limit for key, limit in limits.items()):
            return None
        for key in limits:
            self._open[key] += 1
        return StreamSlot(self._open, tuple(limits))

    def open_streams(self, key: str) -> int:
        return self._open.get(key, 0)

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        subscription = Subscription(tuple(topics))
        for topic in subscription.topics:
            self._subscribers[topic].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        for topic in subscription.topics:
            subscribers = self._subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[topic]

    def dispatch(self, event: Event) -> None:
        seen: set[int] = set()
        for topic in event.topics():
            for callback in self._watchers.get(topic, ()):
                callback(event)
            for subscription in self._subscribers.get(topic, ()):
                if id(subscription) not in seen:
                    seen.add(id(subscription))
                    subscription.push(event)

    def resync_all(self) -> None:
        for callbacks in list(self._watchers.values()):
            for callback in callbacks:
                callback(RESYNC)
        everyone = {id(s): s for subs in self._subscribers.values() for s in subs}
        for subscription in everyone.values():
            subscription.push(RESYNC)

    def shutdown(self) -> None:
        """Tell every stream to finish (server shutdown): they return, so each response ends cleanly."""
        everyone = {id(s): s for subs in self._subscribers.values() for s in subs}
        for subscription in everyone.values():
            subscription.push(SHUTDOWN)

    def stream_total(self) -> int:
        return len({id(s) for subs in self._subscribers.values() for s in subs})


class Broker(Protocol):
    """Moves events from the process that stored something to every process's hub."""

    hub: Hub
    connected: bool

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish_in_transaction(self, events: list[Event]) -> None: ...
    def after_commit(self, events: list[Event]) -> None: ...


class MemoryBroker:
    """Single process (SQLite): events go straight to the local hub once the transaction has committed."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.connected = True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish_in_transaction(self, events: list[Event]) -> None:
        return None

    def after_commit(self, events: list[Event]) -> None:
        for event in events:
            self.hub.dispatch(event)


class PostgresBroker:
    """LISTEN/NOTIFY. NOTIFY rides in the storing transaction; one listener connection per process. A message's
    NOTIFY that comes back to the process that stored it gets the message attached (see Event)."""

    HEALTH_INTERVAL = 2.0
    STORED_KEPT = 4096

    def __init__(self, hub: Hub, dsn: str, run_sql: Any) -> None:
        self.hub = hub
        self.connected = False
        self._dsn = dsn
        self._run_sql = run_sql  # coroutine fn(sql, *args) bound to the current transaction
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._lost = asyncio.Event()
        self.reconnects = 0
        self._stored: dict[int, Any] = {}  # messages this process stored, until their NOTIFY comes back

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="sohbet-pg-listener")
        # Wait briefly for the first connection so the first page load already has live updates.
        for _ in range(50):
            if self.connected:
                break
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._stopping.set()
        self._lost.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def publish_in_transaction(self, events: list[Event]) -> None:
        # Inside the storing transaction: PostgreSQL delivers these on commit, in commit order, or never.
        for event in events:
            if event.message is not None:
                # Kept before COMMIT so it is here when our own NOTIFY comes back; keyed by the message id, which
                # PostgreSQL never hands out twice (a rolled-back message's entry is only ever dropped).
                self._stored[event.message.id] = event.message
                while len(self._stored) > self.STORED_KEPT:
                    self._stored.pop(next(iter(self._stored)))
            await self._run_sql("SELECT pg_notify({}, {})", CHANNEL, event.to_json())

    def after_commit(self, events: list[Event]) -> None:
        return None

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = Event.from_json(payload, self._stored)
        except (ValueError, KeyError, TypeError):
            log.warning(json.dumps({"event": "broker.bad_payload"}))
            return
        self.hub.dispatch(event)

    def _on_terminate(self, _conn: Any) -> None:
        self._lost.set()

    async def _listen_forever(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            connection = None
            try:
                connection = await asyncio.wait_for(asyncpg.connect(self._dsn), timeout=5)
                await connection.add_listener(CHANNEL, self._on_notify)
                connection.add_termination_listener(self._on_terminate)
                self._lost.clear()
                self.connected = True
                backoff = 0.1
                # Whatever was committed while we were not listening: every stream re-reads from its cursor.
                self.hub.resync_all()
                log.info(json.dumps({"event": "broker.listening", "reconnects": self.reconnects}))
                while not self._stopping.is_set() and not self._lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), self.HEALTH_INTERVAL)
                    if self._lost.is_set():
                        break
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), timeout=5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(json.dumps({"event": "broker.listener_lost", "error": type(exc).__name__}))
            finally:
                if self.connected:
                    self.reconnects += 1
                self.connected = False
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.terminate()
            if self._stopping.is_set():
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 3.0)


async def publish_now(broker: Broker, events: list[Event]) -> None:
    """Publish outside any storing transaction (presence changes, read marks)."""
    await broker.publish_in_transaction(events)
    broker.after_commit(events)
