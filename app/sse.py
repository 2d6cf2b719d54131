"""The server-sent events response: one stream, one task.

sse-starlette's EventSourceResponse runs four tasks in an anyio task group per stream (the generator, pings, the
client's disconnect, the server's exit); with thousands of idle visitors those tasks were most of the memory a
stream costs. Here the generator runs in the request's own task and yields its own pings (`PING`) when it has
been idle; one small watcher task turns the client's disconnect into a cancellation of the request task. Server
shutdown is seen once per process (`server_exiting`), and the app then ends every stream through its hub.
sse-starlette still supplies the event encoding (`ServerSentEvent`) and the uvicorn exit hook (`AppStatus`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncGenerator, Callable
from typing import Any

from sse_starlette import ServerSentEvent
from sse_starlette.sse import AppStatus

from app.services.background import BackgroundLoop
from app.services.realtime import Hub

PING = ServerSentEvent(comment="ping")
EXIT_POLL_SECONDS = 0.5


class EventStream:
    """An ASGI response sending `events` as text/event-stream until the generator ends or the client leaves.
    A send that cannot complete within `send_timeout` seconds (a client that stopped reading) ends the stream.
    `on_close` runs once the response is over, however it ended (it gives back the stream's slot in the caps)."""

    def __init__(
        self,
        events: AsyncGenerator[ServerSentEvent, None],
        headers: dict[str, str],
        *,
        send_timeout: float = 30,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.events = events
        self.headers = [(b"content-type", b"text/event-stream")] + [  # always UTF-8 (the SSE standard)
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
        ]
        self.send_timeout = send_timeout
        self.on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self._run(receive, send)
        finally:
            if self.on_close is not None:
                self.on_close()

    async def _run(self, receive: Any, send: Any) -> None:
        request_task = asyncio.current_task()
        assert request_task is not None
        client_left = False

        async def watch_for_disconnect() -> None:
            nonlocal client_left
            while (await receive())["type"] != "http.disconnect":
                pass
            client_left = True
            request_task.cancel()

        watcher = asyncio.create_task(watch_for_disconnect())
        try:
            async with asyncio.timeout(self.send_timeout):
                await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            async for event in self.events:
                async with asyncio.timeout(self.send_timeout):
                    await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
            async with asyncio.timeout(self.send_timeout):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not client_left:
                raise
            request_task.uncancel()  # the client left: a normal end, not an error
        except TimeoutError:
            pass  # the client stopped reading; the connection is dropped below
        finally:
            watcher.cancel()
            with contextlib.suppress(Exception):
                await self.events.aclose()  # the generator's own clean-up (presence, subscription)


def _uvicorn_server() -> Any:
    """uvicorn's Server, found through its SIGTERM handler (a bound method), or None."""
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return server if hasattr(server, "should_exit") else None


async def server_exiting() -> None:
    """Returns once uvicorn has been asked to stop (SIGTERM, SIGINT, --reload), so open streams can end before
    uvicorn's graceful-shutdown timeout runs out."""
    while True:
        server = _uvicorn_server()
        if AppStatus.should_exit or (server is not None and server.should_exit):
            return
        await asyncio.sleep(EXIT_POLL_SECONDS)


class StreamsEndOnExit(BackgroundLoop):
    """A worker for the app's lifespan: once uvicorn is asked to stop, every open stream ends (through the hub)."""

    loop_name = "shutdown-watcher"

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub

    async def run_forever(self) -> None:
        await server_exiting()
        self.hub.shutdown()
