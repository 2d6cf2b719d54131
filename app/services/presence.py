"""Presence: a visitor is online while one of their streams is open; support is online while an admin's is.

Each server process counts its own open streams and keeps one database row per (process, subject) while the
count is above zero, refreshed by a heartbeat. A process that dies stops refreshing, so its rows expire and
its visitors go offline everywhere within one time-to-live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import Counter

from app.models import Presence
from app.services.realtime import Broker, Event, now, publish_now

log = logging.getLogger("sohbet.presence")

ADMIN = "admin"


def conversation_subject(conversation_id: int) -> str:
    return f"c:{conversation_id}"


class PresenceTracker:
    def __init__(self, broker: Broker, heartbeat_seconds: float) -> None:
        self.process_id = secrets.token_hex(8)
        self._broker = broker
        self._heartbeat = heartbeat_seconds
        self._ttl = heartbeat_seconds * 3
        self._counts: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._heartbeat_forever(), name="sohbet-presence")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await Presence.delete().where(Presence.process_id == self.process_id)

    async def _announce(self, subject: str) -> None:
        await publish_now(self._broker, [Event("presence", _conversation_id(subject), subject=subject)])

    async def enter(self, subject: str) -> None:
        async with self._lock:
            self._counts[subject] += 1
            first = self._counts[subject] == 1
            if first:
                await Presence.insert(
                    Presence(process_id=self.process_id, subject=subject, expires_at=now() + self._ttl)
                )
        if first:
            await self._announce(subject)

    async def leave(self, subject: str) -> None:
        async with self._lock:
            self._counts[subject] -= 1
            last = self._counts[subject] <= 0
            if last:
                del self._counts[subject]
                await Presence.delete().where((Presence.process_id == self.process_id) & (Presence.subject == subject))
        if last:
            await self._announce(subject)

    async def is_online(self, subject: str) -> bool:
        if self._counts.get(subject):
            return True
        return await Presence.exists().where((Presence.subject == subject) & (Presence.expires_at > now()))

    async def online_subjects(self, subjects: list[str]) -> set[str]:
        if not subjects:
            return set()
        rows = await (
            Presence.select(Presence.subject)
            .where(Presence.subject.is_in(subjects) & (Presence.expires_at > now()))
            .distinct()
        )
        return {row["subject"] for row in rows} | {s for s in subjects if self._counts.get(s)}

    async def _heartbeat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await Presence.update({Presence.expires_at: now() + self._ttl}).where(
                    Presence.process_id == self.process_id
                )
                expired = await Presence.select(Presence.subject).where(Presence.expires_at < now())
                if expired:
                    await Presence.delete().where(Presence.expires_at < now())
                    for subject in {row["subject"] for row in expired}:
                        await self._announce(subject)
            except Exception as exc:  # the database may be restarting; try again next beat
                log.warning(json.dumps({"event": "presence.heartbeat_failed", "error": type(exc).__name__}))


def _conversation_id(subject: str) -> int:
    return int(subject[2:]) if subject.startswith("c:") else 0
