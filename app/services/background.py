"""Things that live as long as the app: the `BackgroundWorker` protocol every one of them follows (started in
order when the app starts, stopped in reverse when it stops: app/wiring.py's `run_workers`), and
`BackgroundTask`, the one asyncio task most of them run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class BackgroundWorker(Protocol):
    """`start()` brings it up (a connection, a loop); `stop()` ends it and waits for the end. `stop()` is only
    called after `start()` returned."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BackgroundTask:
    def __init__(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"sohbet-{self.name}")  # type: ignore[arg-type]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
