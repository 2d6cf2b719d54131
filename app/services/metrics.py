"""Prometheus metrics for one process, written in the text exposition format 0.0.4 (`GET /metrics`).

Why hand-written rather than `prometheus_client` (not installed) or Litestar's Prometheus plugin (which needs it):
we need a handful of counters, gauges and one histogram; the library keeps them in a process-global registry
(several apps in one test process collide, and services would reach for module globals), and the plugin only
counts requests. The text format is short and stable, so about 150 lines here avoid a dependency. One `Metrics`
object is made in `build_services()` (app/wiring.py), kept as `Services.metrics`, and handed to the services that record
into it.

Metrics:
- `sohbet_http_requests_total{route,method,status}` — every response; `route` is the matched route's path
  template (e.g. `/api/messages/{thread_id}`), never the raw path; no route matched (404, 405) → `unmatched`.
- `sohbet_rate_limit_refusals_total{limit}` — every 429: `limit` is the refusing rate-limit middleware's store
  name without `rl-` (`messages`, `start`, `login`, `api`); a 429 the application answers itself (upload quota,
  login-code lockout) is `app` — its route is in `sohbet_http_requests_total{status="429"}`.
- `sohbet_sse_streams_open{audience}` (gauge) and `sohbet_sse_streams_opened_total{audience}` (reconnect rate);
  `audience` is `visitor` or `admin`.
- `sohbet_messages_stored_total{sender}` — `visitor`, `admin`, `system`.
- `sohbet_delivery_latency_seconds` (histogram) — from a message's storing transaction committing (stamped
  just before COMMIT, carried in the event, also across processes through NOTIFY) to its SSE event being written
  to a stream in this process, once per stream that shows it live. Catch-up after a reconnect is not a delivery
  sample. Across hosts the wall clocks must agree; negative differences count as 0.
- `sohbet_telegram_calls_total{method,outcome}` and `sohbet_telegram_failures_total{method}` — recorded by the
  Telegram client through `telegram_call()`.
- `sohbet_info{version}` (always 1) and `process_start_time_seconds`.

Several processes (`--workers N`, or several hosts): each keeps and exposes only its own series, and a scrape is
answered by whichever process gets the connection. Scrape each process on its own address for exact per-process
series; `process_start_time_seconds` tells processes (and restarts) apart.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SAFE_METHOD = re.compile(r"[A-Za-z_]{1,64}")

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: tuple[str, str] | None = None) -> str:
    pairs = (*labels, extra) if extra else labels
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


class _Family:
    """One metric name with its samples by label set (counter or gauge)."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = name, kind, help_text
        self.values: dict[Labels, float] = {}

    def add(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(labels)} {_number(value)}"


class _Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts = [0] * len(buckets)  # per bucket, not cumulative; summed when written
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1
                break

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        cumulative = 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            cumulative += count
            yield f'{self.name}_bucket{{le="{_number(bound)}"}} {cumulative}'
        yield f'{self.name}_bucket{{le="+Inf"}} {self.count}'
        yield f"{self.name}_sum {_number(self.sum)}"
        yield f"{self.name}_count {self.count}"


class Metrics:
    """This process's metrics. Every method is cheap and never raises; safe to call from any thread."""

    def __init__(self, version: str = "", *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.started_at = clock()
        self.version = version
        self._requests = _Family("sohbet_http_requests_total", "counter", "HTTP responses by route template.")
        self._refusals = _Family("sohbet_rate_limit_refusals_total", "counter", "429 answers by rate limit.")
        self._streams = _Family("sohbet_sse_streams_open", "gauge", "SSE streams open in this process.")
        self._opened = _Family("sohbet_sse_streams_opened_total", "counter", "SSE streams opened (reconnects too).")
        self._stored = _Family("sohbet_messages_stored_total", "counter", "Messages stored, by sender.")
        self._telegram = _Family("sohbet_telegram_calls_total", "counter", "Telegram Bot API calls by outcome.")
        self._telegram_failed = _Family("sohbet_telegram_failures_total", "counter", "Failed Telegram Bot API calls.")
        self._latency = _Histogram(
            "sohbet_delivery_latency_seconds",
            "From a message's commit to its SSE event written to a stream in this process.",
            LATENCY_BUCKETS,
        )
        for audience in ("visitor", "admin"):  # present from the start, so dashboards see 0 rather than nothing
            self._streams.add((("audience", audience),), 0)

    # -- recording --------------------------------------------------------------------------------------

    def http_response(self, route: str, method: str, status: int) -> None:
        with self._lock:
            self._requests.add((("route", route), ("method", method), ("status", str(status))))

    def rate_limit_refused(self, limit: str) -> None:
        with self._lock:
            self._refusals.add((("limit", limit),))

    @contextmanager
    def stream_open(self, audience: str) -> Iterator[None]:
        """Counts an SSE stream as open for the duration of the `with` block."""
        labels = (("audience", audience),)
        with self._lock:
            self._streams.add(labels, 1)
            self._opened.add(labels, 1)
        try:
            yield
        finally:
            with self._lock:
                self._streams.add(labels, -1)

    def message_stored(self, sender: str) -> None:
        with self._lock:
            self._stored.add((("sender", sender),))

    def delivered(self, stored_at: float) -> None:
        """A message stored at `stored_at` (wall clock, seconds) has just been written to an SSE stream."""
        latency = max(0.0, self._clock() - stored_at)
        with self._lock:
            self._latency.observe(latency)

    def telegram_call(self, method: str, ok: bool, outcome: str | None = None) -> None:
        """One Telegram Bot API request. `method` is the API method name (`sendMessage`; anything else becomes
        `other`, so a URL — which carries the bot token — can never end up in a label). `outcome` defaults to
        `ok` / `error`; pass a finer word for failures if useful (`timeout`, `rate_limited`, `server_error`).
        Every call with `ok=False` also counts in `sohbet_telegram_failures_total`."""
        name = method if _SAFE_METHOD.fullmatch(method) else "other"
        result = outcome if outcome and _SAFE_METHOD.fullmatch(outcome) else ("ok" if ok else "error")
        with self._lock:
            self._telegram.add((("method", name), ("outcome", result)))
            if not ok:
                self._telegram_failed.add((("method", name),))

    # -- exposition -------------------------------------------------------------------------------------

    def render(self) -> str:
        lines = [
            "# HELP sohbet_info Sohbet version running in this process.",
            "# TYPE sohbet_info gauge",
            f"sohbet_info{_labels((('version', self.version),))} 1",
            "# HELP process_start_time_seconds Start time of the process since the Unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {_number(round(self.started_at, 3))}",
        ]
        with self._lock:
            for family in (
                self._requests,
                self._refusals,
                self._streams,
                self._opened,
                self._stored,
                self._telegram,
                self._telegram_failed,
                self._latency,
            ):
                lines.extend(family.lines())
        return "\n".join(lines) + "\n"
