"""Things that live as long as the app: the `BackgroundWorker` protocol every one of them follows (started in
order when the app starts, stopped in reverse when it stops: app/wiring.py's `run_workers`), and
`BackgroundLoop`, the base of the services that run one loop for as long as the app runs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol, runtime_checkable


@runtime_checkable
class BackgroundWorker(Protocol):
    """`start()` brings it up (a connection, a loop); `stop()` ends it and waits for the end. `stop()` is only
    called after `start()` returned."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BackgroundLoop:
    """A service that runs one loop while the app runs: its `run_forever()`. `start()` and `stop()` come from here
    (a service that needs more extends them); `kick()` wakes a `nap()` early (new work is queued)."""

    loop_name = "loop"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def run_forever(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name=f"sohbet-{self.loop_name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def kick(self) -> None:
        self._wake.set()

    async def nap(self, seconds: float) -> None:
        """Sleep `seconds`, or less when kicked."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
