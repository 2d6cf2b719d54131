"""Workspace settings: what an admin changes on /admin/settings without a restart (branding, embedding sites).

Stored in the `workspace_setting` table; a key without a row takes its default from the environment
(app/settings.py). Every process keeps them in memory (read on every request, so never a query per request) and
reloads them when another process saved: `save` publishes a `settings` event through the broker (PostgreSQL:
NOTIFY in the saving transaction, delivered to every process on commit), and a broker reconnect (a resync) or a
minute without news reloads too, so a lost notification delays a change by a minute at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from piccolo.engine.base import Engine

from app.models import WorkspaceSetting
from app.models.db import write_transaction
from app.services import audit
from app.services.realtime import SETTINGS_TOPIC, Broker, Event, Hub

log = logging.getLogger("sohbet.workspace")

RELOAD_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file kept as a setting (the logo): its bytes, content type and a version that changes with the bytes."""

    data: bytes
    content_type: str
    version: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The settings as stored: `values` (key -> text) and `files` (key -> StoredFile). Keys without a row are
    missing (the caller applies its defaults)."""

    values: Mapping[str, str]
    files: Mapping[str, StoredFile]


EMPTY = Snapshot({}, {})


class Workspace:
    """The per-process cache of the workspace settings, and the one way to change them. `on_change` callbacks run
    (in this process) after each reload, with the new snapshot."""

    def __init__(self, engine: Engine, broker: Broker, hub: Hub) -> None:
        self._engine = engine
        self._broker = broker
        self._hub = hub
        self.snapshot = EMPTY
        self.loaded_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[Snapshot], None]] = []

    def on_change(self, listener: Callable[[Snapshot], None]) -> None:
        self._listeners.append(listener)
        listener(self.snapshot)

    async def load(self) -> Snapshot:
        rows = await WorkspaceSetting.select(
            WorkspaceSetting.key, WorkspaceSetting.value, WorkspaceSetting.data, WorkspaceSetting.updated_at
        )
        values: dict[str, str] = {}
        files: dict[str, StoredFile] = {}
        for row in rows:
            if row["data"] is not None:
                version = f"{int(row['updated_at'] * 1000):x}"
                files[row["key"]] = StoredFile(bytes(row["data"]), row["value"], version)
            else:
                values[row["key"]] = row["value"]
        self.snapshot = Snapshot(values, files)
        self.loaded_at = time.monotonic()
        for listener in self._listeners:
            listener(self.snapshot)
        return self.snapshot

    async def save(
        self,
        values: Mapping[str, str],
        files: Mapping[str, StoredFile | None] | None = None,
        *,
        actor: str = audit.SYSTEM,
        ip: str = "",
    ) -> Snapshot:
        """Store `values` and `files` (None removes that file) in one transaction, tell every process, reload. The
        audit log gets the keys that changed (never their values)."""
        now = time.time()
        events = [Event("settings")]
        before = self.snapshot.values
        changed = sorted([*(k for k, v in values.items() if before.get(k) != v), *(files or {})])
        async with write_transaction(self._engine):
            await audit.record("settings.saved", "workspace", actor=actor, ip=ip, keys=changed)
            for key, value in values.items():
                await self._put(key, value, None, now)
            for key, stored in (files or {}).items():
                if stored is None:
                    await WorkspaceSetting.delete().where(WorkspaceSetting.key == key)
                else:
                    await self._put(key, stored.content_type, stored.data, now)
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        log.info(json.dumps({"event": "workspace.saved", "keys": sorted([*values, *(files or {})])}))
        return await self.load()

    async def _put(self, key: str, value: str, data: bytes | None, now: float) -> None:
        changes: dict[Any, Any] = {
            WorkspaceSetting.value: value,
            WorkspaceSetting.data: data,
            WorkspaceSetting.updated_at: now,
        }
        updated = (
            await WorkspaceSetting.update(changes).where(WorkspaceSetting.key == key).returning(WorkspaceSetting.id)
        )
        if not updated:
            await WorkspaceSetting.insert(WorkspaceSetting(key=key, value=value, data=data, updated_at=now))

    async def start(self) -> None:
        self._hub.watch(SETTINGS_TOPIC, lambda _event: self._changed.set())
        await self.load()
        self._task = asyncio.create_task(self._follow(), name="sohbet-workspace")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        """Reload on a `settings` event from any process, on a broker resync, or after RELOAD_SECONDS."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RELOAD_SECONDS):
                    await self._changed.wait()
            self._changed.clear()
            try:
                await self.load()
            except Exception as exc:  # a database hiccup: keep the last settings, try again later
                log.warning(json.dumps({"event": "workspace.reload_failed", "error": type(exc).__name__}))
