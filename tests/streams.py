"""A background SSE reader that reconnects like a browser: with Last-Event-ID (native EventSource) or, like
htmx-ext-sse's fresh EventSource after an error, without it but with the page's `after=` cursor."""

from __future__ import annotations

import threading
import time

import httpx

from tests.support import SSEEvent, iter_sse, wait_until


class _StopAware:
    """Wraps a streaming response so the SSE parser gives up at the next line (a keep-alive ping is enough) once
    `stop` is set: stopping a reader then really closes its HTTP stream, which presence depends on."""

    def __init__(self, response: httpx.Response, stop: threading.Event) -> None:
        self.response, self.stop = response, stop

    def iter_lines(self):
        for line in self.response.iter_lines():
            if self.stop.is_set():
                return
            yield line


class StreamReader(threading.Thread):
    def __init__(
        self, base_url: str, path: str, cookies: httpx.Cookies, *, mode: str = "native", after: int = 0
    ) -> None:
        super().__init__(daemon=True)
        self.base_url, self.path, self.cookies, self.mode = base_url, path, cookies, mode
        self.last_id = after
        self.events: list[SSEEvent] = []
        self.messages: list[SSEEvent] = []
        self.connects = 0
        self.live_connects = 0  # the value of `connects` whose connection has delivered an event
        self.errors = 0
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stopped.set()

    def close(self, timeout: float = 10) -> None:
        """Stop and wait until the HTTP stream is really closed (within one keep-alive ping)."""
        self.stop()
        self.join(timeout)
        assert not self.is_alive(), f"reader on {self.path} did not stop"

    @property
    def live(self) -> bool:
        """The current connection has delivered an event (so the server-side stream has subscribed)."""
        return self.connects > 0 and self.live_connects == self.connects

    def _request(self) -> tuple[str, dict[str, str]]:
        use_header = self.mode == "native" or (self.mode == "mixed" and self.connects % 2 == 0)
        separator = "&" if "?" in self.path else "?"
        if use_header:
            return self.path, ({"Last-Event-ID": str(self.last_id)} if self.last_id else {})
        return f"{self.path}{separator}after={self.last_id}", {}

    def run(self) -> None:
        timeout = httpx.Timeout(10, read=30)
        with httpx.Client(base_url=self.base_url, cookies=self.cookies, timeout=timeout) as http:
            while not self._stopped.is_set():
                path, headers = self._request()
                self.connects += 1
                try:
                    with http.stream("GET", path, headers=headers) as response:
                        if response.status_code != 200:
                            self.errors += 1
                            time.sleep(0.05)
                            continue
                        for event in iter_sse(_StopAware(response, self._stopped)):
                            with self._lock:
                                self.events.append(event)
                                self.live_connects = self.connects
                                if event.id is not None:
                                    self.last_id = int(event.id)
                                if event.event == "message":
                                    self.messages.append(event)
                except (httpx.HTTPError, ValueError):
                    self.errors += 1
                time.sleep(0.01)

    def wait_for_messages(self, count: int, timeout: float = 30) -> list[SSEEvent]:
        wait_until(
            lambda: len(self.messages) >= count,
            timeout=timeout,
            message=f"{count} messages on {self.path} (have {len(self.messages)})",
        )
        return list(self.messages)

    def wait_for_event(self, name: str, timeout: float = 10, start: int = 0) -> SSEEvent:
        def found():
            with self._lock:
                return next((e for e in self.events[start:] if e.event == name), None)

        return wait_until(found, timeout=timeout, message=f"event {name!r} on {self.path}")


def open_reader(base_url: str, path: str, cookies: httpx.Cookies, **kwargs) -> StreamReader:
    """A started reader whose stream is live."""
    reader = StreamReader(base_url, path, cookies, **kwargs)
    reader.start()
    wait_until(lambda: reader.live, timeout=15, message=f"stream {path} on {base_url} to open")
    return reader
