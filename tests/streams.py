"""A background SSE reader that reconnects like a browser: with Last-Event-ID (native EventSource) or, like
htmx-ext-sse's fresh EventSource after an error, without it but with the page's `after=` cursor."""

from __future__ import annotations

import threading
import time

import httpx

from tests.support import SSEEvent, iter_sse, wait_until


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
        self.errors = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stop.set()

    def _request(self) -> tuple[str, dict[str, str]]:
        use_header = self.mode == "native" or (self.mode == "mixed" and self.connects % 2 == 0)
        separator = "&" if "?" in self.path else "?"
        if use_header:
            return self.path, ({"Last-Event-ID": str(self.last_id)} if self.last_id else {})
        return f"{self.path}{separator}after={self.last_id}", {}

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, cookies=self.cookies, timeout=httpx.Timeout(10, read=30)) as http:
            while not self._stop.is_set():
                path, headers = self._request()
                self.connects += 1
                try:
                    with http.stream("GET", path, headers=headers) as response:
                        if response.status_code != 200:
                            self.errors += 1
                            time.sleep(0.05)
                            continue
                        for event in iter_sse(response):
                            with self._lock:
                                self.events.append(event)
                                if event.id is not None:
                                    self.last_id = int(event.id)
                                if event.event == "message":
                                    self.messages.append(event)
                            if self._stop.is_set():
                                return
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
