"""Presence: a visitor is online while one of their streams is open; support is online while an available agent's
is (SPEC §8: an agent who set themselves `away` does not count; nor does anyone while every open one is away).

"An admin's stream" means any open admin page: every page of the dashboard holds one admin stream (/admin/events;
the dashboard its own, every other admin page one in admin/_bar.html), and admin_stream (app/services/streams.py)
enters as ADMIN for as long as it runs, which is only while its session is live (it ends within 5 s of a logout,
an expiry or a revocation). So support is online while a live admin session has an admin page open, whichever.

Each server process counts its own open streams and keeps one database row per (process, subject) while the
count is above zero, refreshed by a heartbeat. A process that dies stops refreshing, so its rows expire and
its visitors go offline everywhere within one time-to-live.

The admin can also set support's availability by hand (from Telegram: /online, /offline, /auto): "online" is a
row of its own that never expires, "offline" a row that hides every other; "auto" removes both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from app.clock import now
from app.models import Agent, Presence
from app.services.background import BackgroundLoop
from app.services.realtime import Broker, Event, publish_now

log = logging.getLogger("sohbet.presence")

ADMIN = "admin"
AWAY = "admin:away"  # support shown offline whatever is open
SET_BY_HAND = "availability"  # the process_id of the rows the admin set by hand
AVAILABILITY_MODES = ("auto", "online", "offline")
FOREVER = 10 * 365 * 86400.0


AGENT_PREFIX = "agent:"


def conversation_subject(conversation_id: int) -> str:
    return f"c:{conversation_id}"


def agent_subject(username: str) -> str:
    """One agent's presence: held, beside ADMIN, by each of their admin streams (round robin reads it)."""
    return f"{AGENT_PREFIX}{username}"


class PresenceTracker(BackgroundLoop):
    loop_name = "presence"

    def __init__(self, broker: Broker, heartbeat_seconds: float) -> None:
        super().__init__()
        self.process_id = secrets.token_hex(8)
        self._broker = broker
        self._heartbeat = heartbeat_seconds
        self._ttl = heartbeat_seconds * 3
        self._counts: Counter[str] = Counter()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def stop(self) -> None:
        await super().stop()
        if self._tasks:  # the leave() of streams that the shutdown just ended: finish them before the pool closes
            await asyncio.wait(set(self._tasks), timeout=5)
        with contextlib.suppress(Exception):
            await Presence.delete().where(Presence.process_id == self.process_id)

    async def _announce(self, subject: str) -> None:
        events = [Event("presence", _conversation_id(subject), subject=subject)]
        if subject.startswith(AGENT_PREFIX):  # an agent coming or going may change support's presence: visitors look
            events.append(Event("presence", 0, subject=ADMIN))
        await publish_now(self._broker, events)

    async def agent_changed(self, username: str) -> None:
        """An agent's availability changed: dashboards (the team list) and visitors (support's presence) look again."""
        await self._announce(agent_subject(username))

    async def enter(self, subject: str) -> None:
        """One more open stream for `subject`. The caller pairs it with leave() only once this has returned."""
        task = self._detached(self._enter(subject))
        try:
            await asyncio.shield(task)
        except BaseException:
            # Cancelled (the client went away at once) or failed: nobody will call leave() for this enter(),
            # so leave by ourselves once the entry, which the cancellation cannot cut short, has been made.
            task.add_done_callback(lambda done: self._undo_enter(done, subject))
            raise

    async def leave(self, subject: str) -> None:
        # Streams call this from `finally` while they are being cancelled (the client disconnected): a plain
        # await would be cancelled at the DELETE, leaving a row that every heartbeat kept alive — the visitor
        # (or support) would stay online everywhere for the life of this process. Run it in its own task.
        await asyncio.shield(self._detached(self._leave(subject)))

    def _detached(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning(json.dumps({"event": "presence.update_failed", "error": type(task.exception()).__name__}))

    def _undo_enter(self, task: asyncio.Task[None], subject: str) -> None:
        if not task.cancelled() and task.exception() is None:
            self._detached(self._leave(subject))

    async def _enter(self, subject: str) -> None:
        async with self._lock:
            first = not self._counts.get(subject)
            if first:
                await Presence.insert(
                    Presence(process_id=self.process_id, subject=subject, expires_at=now() + self._ttl)
                )
            self._counts[subject] += 1  # only once the row exists: a failed enter() leaves nothing to undo
        if first:
            await self._announce(subject)

    async def _leave(self, subject: str) -> None:
        async with self._lock:
            self._counts[subject] -= 1
            last = self._counts[subject] <= 0
            if last:
                del self._counts[subject]
                await Presence.delete().where((Presence.process_id == self.process_id) & (Presence.subject == subject))
        if last:
            await self._announce(subject)

    async def set_availability(self, mode: str) -> None:
        """What visitors see of support: "online" or "offline" whatever is open, or "auto" (open dashboards)."""
        if mode not in AVAILABILITY_MODES:
            raise ValueError(mode)
        await Presence.delete().where(Presence.process_id == SET_BY_HAND)
        if mode != "auto":
            subject = ADMIN if mode == "online" else AWAY
            await Presence.insert(Presence(process_id=SET_BY_HAND, subject=subject, expires_at=now() + FOREVER))
        await self._announce(ADMIN)

    async def is_online(self, subject: str) -> bool:
        if subject == ADMIN:
            return await self._support_online()
        if self._counts.get(subject):
            return True
        return await Presence.exists().where((Presence.subject == subject) & (Presence.expires_at > now()))

    async def _support_online(self) -> bool:
        """Forced offline or online by hand; else while an admin stream is open, unless every agent who has one
        open is away (a stream without an agent, as some tests open, counts as available)."""
        rows = await Presence.select(Presence.process_id, Presence.subject).where(
            Presence.subject.is_in([ADMIN, AWAY]) & (Presence.expires_at > now())
        )
        if any(row["subject"] == AWAY for row in rows):
            return False
        if any(row["process_id"] == SET_BY_HAND for row in rows):
            return True
        if not rows and not self._counts.get(ADMIN):
            return False
        open_agents = await self.online_agents()
        return not open_agents or bool(await self.available_agents(open_agents))

    async def available_agents(self, open_agents: set[str] | None = None) -> list[str]:
        """The usernames, sorted, of the enabled agents with an admin stream open who are not away."""
        online = await self.online_agents() if open_agents is None else open_agents
        if not online:
            return []
        rows = await Agent.select(Agent.username).where(
            Agent.username.is_in(sorted(online)) & (Agent.disabled == False) & (Agent.availability == "online")  # noqa: E712
        )
        return sorted(row["username"] for row in rows)

    async def online_subjects(self, subjects: list[str]) -> set[str]:
        if not subjects:
            return set()
        rows = await (
            Presence.select(Presence.subject)
            .where(Presence.subject.is_in(subjects) & (Presence.expires_at > now()))
            .distinct()
        )
        return {row["subject"] for row in rows} | {s for s in subjects if self._counts.get(s)}

    async def online_agents(self) -> set[str]:
        """The usernames of the agents with an admin stream open, in any server process."""
        rows = await (
            Presence.select(Presence.subject)
            .where(Presence.subject.like(f"{AGENT_PREFIX}%") & (Presence.expires_at > now()))
            .distinct()
        )
        subjects = {row["subject"] for row in rows} | {s for s in self._counts if s.startswith(AGENT_PREFIX)}
        return {subject.removeprefix(AGENT_PREFIX) for subject in subjects}

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                changed = await self._reconcile()
                expired = await Presence.select(Presence.subject).where(Presence.expires_at < now())
                if expired:
                    await Presence.delete().where(Presence.expires_at < now())
                for subject in changed | {row["subject"] for row in expired}:
                    await self._announce(subject)
            except Exception as exc:  # the database may be restarting; try again next beat
                log.warning(json.dumps({"event": "presence.heartbeat_failed", "error": type(exc).__name__}))

    async def _reconcile(self) -> set[str]:
        """Make this process's rows match its open streams, and refresh them. An insert or delete that failed
        (say, while the database restarted) or a row another process expired meanwhile is repaired within one
        beat. Returns the subjects whose presence this changed."""
        async with self._lock:
            mine = Presence.process_id == self.process_id
            stored = {row["subject"] for row in await Presence.select(Presence.subject).where(mine)}
            stale, missing = stored - set(self._counts), set(self._counts) - stored
            if stale:
                await Presence.delete().where(mine & Presence.subject.is_in(sorted(stale)))
            await Presence.update({Presence.expires_at: now() + self._ttl}).where(mine)
            if missing:
                expires_at = now() + self._ttl
                await Presence.insert(
                    *(Presence(process_id=self.process_id, subject=s, expires_at=expires_at) for s in missing)
                )
        return stale | missing


def _conversation_id(subject: str) -> int:
    return int(subject[2:]) if subject.startswith("c:") else 0
