"""A TCP proxy on loopback that keeps cutting connections: after a random number of bytes from the server or a
random time, whichever comes first, it closes both sides. Runs its own event loop in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading


class CuttingProxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        min_bytes: int = 2_000,
        max_bytes: int = 40_000,
        min_seconds: float = 0.05,
        max_seconds: float = 0.5,
        seed: int = 7,
    ) -> None:
        self.upstream_port = upstream_port
        self.min_bytes, self.max_bytes = min_bytes, max_bytes
        self.min_seconds, self.max_seconds = min_seconds, max_seconds
        self.random = random.Random(seed)
        self.port = 0
        self.cuts = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CuttingProxy:
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server:
                self._server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    async def _handle(self, client_reader, client_writer) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        budget = self.random.randint(self.min_bytes, self.max_bytes)
        lifetime = self.random.uniform(self.min_seconds, self.max_seconds)

        async def upstream() -> None:
            with contextlib.suppress(Exception):
                while data := await client_reader.read(65536):
                    upstream_writer.write(data)
                    await upstream_writer.drain()

        async def downstream() -> None:
            nonlocal budget
            with contextlib.suppress(Exception):
                while data := await upstream_reader.read(min(65536, max(1, budget))):
                    client_writer.write(data)
                    await client_writer.drain()
                    budget -= len(data)
                    if budget <= 0:
                        return

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        done, _ = await asyncio.wait(tasks, timeout=lifetime, return_when=asyncio.FIRST_COMPLETED)
        if not done or tasks[1] in done:
            self.cuts += 1
        for task in tasks:
            task.cancel()
        for writer in (client_writer, upstream_writer):
            with contextlib.suppress(Exception):
                writer.close()
