"""Things that live as long as the app: the `BackgroundWorker` protocol every one of them follows (started in
order when the app starts, stopped in reverse when it stops: app/wiring.py's `run_workers`), and
`BackgroundLoop`, the base of the services that run one loop for as long as the app runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Protocol, runtime_checkable

log = logging.getLogger("sohbet")


@runtime_checkable
class BackgroundWorker(Protocol):
    """`start()` brings it up (a connection, a loop); `stop()` ends it and waits for the end. `stop()` is only
    called after `start()` returned."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BackgroundLoop:
    """A service that runs one loop while the app runs: its `run_forever()`. `start()` and `stop()` come from here
    (a service that needs more extends them); `kick()` wakes a `nap()` early (new work is queued).

    Most loops are rounds: `one_round()` does what is due and says how long to wait for the next one; the first
    round comes at once (work left by an earlier run goes first); a failed round (the database may be away) is
    logged as `round_failed_event` and the next one comes after `IDLE_SECONDS`."""

    loop_name = "loop"
    round_failed_event = "loop.round_failed"
    IDLE_SECONDS = 30.0

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def one_round(self) -> float:
        raise NotImplementedError

    async def run_forever(self) -> None:
        wait = 0.0
        while True:
            await self.nap(max(wait, 0.05))
            try:
                wait = await self.one_round()
            except Exception as exc:
                wait = self.IDLE_SECONDS
                log.warning(json.dumps({"event": self.round_failed_event, "error": type(exc).__name__}))

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
