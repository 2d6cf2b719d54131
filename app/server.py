"""How `sohbet serve` runs uvicorn (issue 11, defects 6, 7 and 15).

- No proxy-header handling in uvicorn: app/proxy.py decides who the client is (FORWARDED_ALLOW_IPS).
- A server-wide connection limit (MAX_CONNECTIONS, uvicorn's `limit_concurrency`: beyond it new requests get
  503). Event streams are connections too, so the default (10,000) stays well above the benchmarks' 5,000.
- A header-read timeout (HEADER_TIMEOUT) against slow-header attacks: uvicorn waits forever for a request head
  (its keep-alive timer restarts on every byte), so a few hundred sockets sending a byte now and then would hold
  every connection slot. The protocol classes below close a connection whose request head is not complete
  within the timeout, counted from the connection's start or from the end of its previous response.
- The graceful-shutdown timeout (SHUTDOWN_TIMEOUT).

Uvicorn builds the protocol per connection, in each worker process, from an import string: the timeout travels
in the environment (`HEADER_TIMEOUT_ENV`), set by `uvicorn_options()` before the workers start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import Settings

log = logging.getLogger("sohbet.server")
HEADER_TIMEOUT_ENV = "SOHBET_HEADER_TIMEOUT"


def header_timeout() -> float:
    try:
        return float(os.environ.get(HEADER_TIMEOUT_ENV) or 10)
    except ValueError:
        return 10.0


class HeaderDeadline:
    """The timer part, shared by both uvicorn protocol implementations."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    client: Any
    _head_timer: asyncio.TimerHandle | None = None

    def arm_head_timer(self) -> None:
        self.disarm_head_timer()
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(header_timeout(), self.head_too_slow)

    def disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.info(json.dumps({"event": "http.header_timeout", "seconds": header_timeout()}))
            self.transport.close()


# The `type: ignore[override]` below: uvicorn's own connection_made takes an asyncio.Transport where asyncio's
# protocol says BaseTransport; an override with uvicorn's signature inherits the mismatch.
class H11HeaderTimeout(HeaderDeadline, H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is complete (body, done, or closed)
            self.disarm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self.arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm_head_timer()
        super().connection_lost(exc)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional: h11 then serves every connection
    HttpToolsHeaderTimeout: type | None = None  # the class below redefines the name when httptools is there
else:

    class HttpToolsHeaderTimeout(HeaderDeadline, HttpToolsProtocol):  # type: ignore[no-redef]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.arm_head_timer()

        def on_headers_complete(self) -> None:
            self.disarm_head_timer()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.timeout_keep_alive_task is not None:  # idle, waiting for the next request's head
                self.arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm_head_timer()
            super().connection_lost(exc)


def protocol_path() -> str:
    name = "HttpToolsHeaderTimeout" if HttpToolsHeaderTimeout is not None else "H11HeaderTimeout"
    return f"app.server:{name}"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The settings' part of uvicorn.run()'s arguments."""
    os.environ[HEADER_TIMEOUT_ENV] = str(settings.header_timeout_seconds)
    return {
        "proxy_headers": False,
        "http": protocol_path(),
        "limit_concurrency": settings.max_connections,
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
    }
