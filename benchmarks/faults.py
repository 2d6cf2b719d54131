"""The published fault figures (SYSTEM_DOCS/06_RELIABILITY.md), at full length, printed as one table.

    python -m benchmarks.faults [--only NAME ...] [--soak-minutes 10] [--soak-backend sqlite] [--json FILE]

Scenarios (NAME): sigkill (the server SIGKILLed 5 times during a burst of posts, on SQLite and on PostgreSQL),
pg_outage (a private PostgreSQL stopped for 10 s during a burst), disk_full (SQLite on a small tmpfs filled up),
soak (10 minutes of mixed load in the style of scripts/locustfile.py at about 20 requests/s against one server,
sampling its memory every 10 s). The first three are tests/faults.py's scenarios, which tests/server/test_faults.py runs
shorter in CI; the soak lives only here. Loopback only; every server is a fresh subprocess on a fresh database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import BENCH_DIR, LOAD_CPU, LOOPBACK, machine, open_fds, percentile, pin_self, rss_bytes

SCENARIOS = ("sigkill", "pg_outage", "disk_full", "soak")
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
Row = tuple[str, str, str, str, bool | None]  # scenario, database, measured, result, verdict (None: no target)


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the fault scenarios (tests/faults.py), long versions ------------------------------------------------------


def run_sigkill(workdir: Path) -> list[Row]:
    from tests import faults

    rows: list[Row] = []
    for backend in ("sqlite", "postgres"):
        result = faults.sigkill_during_burst(Path(tempfile.mkdtemp(dir=workdir)), backend, kills=5, burst_seconds=3)
        check = result["check"]
        rows.append(("SIGKILL ×5 during a burst (4 visitors posting back to back)", backend,
                     f"{result['posts']} posts: {faults.status_text(result['statuses'])}; restart ≤ "
                     f"{result['restart_seconds']:.1f} s",
                     f"{check.acknowledged} acknowledged: {len(check.lost)} lost, {len(check.duplicated)} duplicated, "
                     f"{check.sequence_gaps} seq gaps; {check.unacknowledged_stored} stored unacknowledged (in flight)",
                     check.ok))  # fmt: skip
    return rows


def run_pg_outage(workdir: Path) -> list[Row]:
    from tests import faults

    result = faults.postgres_outage_during_burst(Path(tempfile.mkdtemp(dir=workdir)), outage_seconds=10, rate=40)
    check = result["check"]
    wrong = [a for a in result["errors"] if a.status != 503]
    ok = check.ok and not wrong and result["same_process"] and result["slowest_seconds"] < 5
    return [("PostgreSQL stopped 10 s during a burst (40 posts/s)", "postgres",
             f"during: {faults.status_text(result['during'])}; slowest answer {result['slowest_seconds']:.2f} s; "
             f"after: {faults.status_text(result['after'])}",
             f"posts acknowledged again {result['back_after_seconds']:.2f} s after PostgreSQL was back, same process; "
             f"{check.acknowledged} acknowledged: {len(check.lost)} lost, {len(check.duplicated)} duplicated",
             ok)]  # fmt: skip


def run_disk_full(workdir: Path) -> list[Row]:
    from tests import faults

    reason = faults.small_filesystem_unavailable()
    if reason:
        return [("SQLite disk full", "sqlite", "skipped", reason, None)]
    result = faults.sqlite_disk_full(Path(tempfile.mkdtemp(dir=workdir)), size_mb=16, posts_when_full=400)
    check = result["check"]
    wrong = [a for a in result["errors"] if a.status != 503]
    ok = check.ok and not wrong and result["integrity"] == "ok" and result["same_process"]
    return [(f"SQLite disk full ({result['size_mb']} MB tmpfs filled, 40 posts/s)", "sqlite",
             f"while full: {faults.status_text(result['while_full'])}; slowest answer "
             f"{result['slowest_seconds']:.2f} s; integrity_check {result['integrity_while_full']} / "
             f"{result['integrity']}",
             f"posts acknowledged again {result['back_after_seconds']:.2f} s after the filler was deleted, same "
             f"process; {check.acknowledged} acknowledged: {len(check.lost)} lost, {len(check.duplicated)} duplicated",
             ok)]  # fmt: skip


# -- the soak --------------------------------------------------------------------------------------------------


class Soak:
    """Visitors arrive (one a second), start a conversation, post every 1–3 s (5–30 messages), half of them with
    their stream open, a third end the chat; one admin keeps a stream open and reads the list and conversations
    through the JSON API every 2–5 s. Every request's status and time are kept; the server's RSS every 10 s."""

    def __init__(self, url: str, pid: int, admin_cookies: dict[str, str], minutes: float) -> None:
        self.url, self.pid, self.admin_cookies = url, pid, admin_cookies
        self.seconds = minutes * 60
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.events = 0
        self.visitors = 0
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, RSS bytes, open fds)

    async def request(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.statuses[f"{method} {path.split('?')[0]}: {type(error).__name__}"] += 1
            return None
        self.latencies.append(time.perf_counter() - started)
        self.statuses[str(response.status_code)] += 1
        return response

    async def stream(self, client: httpx.AsyncClient, path: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            async with client.stream("GET", path, timeout=httpx.Timeout(15, read=None)) as response:
                self.statuses[f"stream {response.status_code}"] += 1
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        self.events += 1

    async def visitor(self, number: int) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=15) as client:
            page = await self.request(client, "GET", "/")
            match = CSRF_RE.search(page.text) if page is not None else None
            if match is None:
                return
            csrf = match.group(1)
            started = await self.request(client, "POST", "/chat/start",
                                         data={"display_name": f"soak-{number}", "_csrf_token": csrf})  # fmt: skip
            if started is None or started.status_code != 303:
                return
            streaming = asyncio.create_task(self.stream(client, "/chat/events")) if number % 2 == 0 else None
            for sent in range(random.randint(5, 30)):
                await asyncio.sleep(random.uniform(1, 3))
                if random.random() < 0.75:
                    await self.request(client, "POST", "/chat/messages",
                                       data={"text": f"soak message {sent}", "_csrf_token": csrf})  # fmt: skip
                else:
                    await self.request(client, "GET", "/")
            if number % 3 == 0:
                await self.request(client, "POST", "/chat/end", data={"confirm": "yes", "_csrf_token": csrf})
            if streaming is not None:
                streaming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await streaming

    async def admin(self, deadline: float) -> None:
        headers = {"Accept": "application/json"}
        async with httpx.AsyncClient(base_url=self.url, timeout=15, cookies=self.admin_cookies) as client:
            streaming = asyncio.create_task(self.stream(client, "/admin/events"))
            threads: list[int] = []
            while time.monotonic() < deadline:
                await asyncio.sleep(random.uniform(2, 5))
                listing = await self.request(client, "GET", "/api/threads", headers=headers)
                if listing is not None and listing.status_code == 200:
                    threads = [t["id"] for t in listing.json().get("threads", [])][:50]
                if threads:
                    thread = random.choice(threads)
                    await self.request(client, "GET", f"/api/messages/{thread}?limit=50", headers=headers)
                if random.random() < 0.2:
                    await self.request(client, "GET", "/admin")
                if streaming.done():
                    streaming = asyncio.create_task(self.stream(client, "/admin/events"))
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming

    async def sample(self, begun: float, deadline: float) -> None:
        while True:
            self.samples.append((time.monotonic() - begun, rss_bytes(self.pid), open_fds(self.pid)))
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(min(10.0, max(0.0, deadline - time.monotonic())))

    async def run(self) -> None:
        begun = time.monotonic()
        deadline = begun + self.seconds
        sampler = asyncio.create_task(self.sample(begun, deadline))
        admin = asyncio.create_task(self.admin(deadline))
        visitors: set[asyncio.Task[None]] = set()
        while time.monotonic() < deadline:
            self.visitors += 1
            task = asyncio.create_task(self.visitor(self.visitors))
            visitors.add(task)
            task.add_done_callback(visitors.discard)
            await asyncio.sleep(1.0)
        for task in list(visitors):
            task.cancel()
        await asyncio.gather(*visitors, return_exceptions=True)
        await admin
        await sampler


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 3:
        return float("nan")
    fit = statistics.linear_regression([t for t, _ in points], [v for _, v in points])
    return fit.slope * 60


def run_soak(workdir: Path, minutes: float, backend: str) -> tuple[list[Row], dict[str, Any]]:
    from benchmarks.run import Bench

    bench = Bench("tiny", workdir)
    warmup = min(120.0, minutes * 60 / 5)
    with bench.sohbet(backend) as server:
        cookies = bench.admin_cookies(server)
        soak = Soak(server.url, server.pid, cookies, minutes)
        pin_self(LOAD_CPU)
        started = time.monotonic()
        asyncio.run(soak.run())
        elapsed = time.monotonic() - started
        alive = server.process is not None and server.process.poll() is None
        ready = httpx.get(server.url + "/health/ready", timeout=5).status_code
    after = [(t, rss / 1024) for t, rss, _ in soak.samples if t >= warmup]
    fds = [(t, float(n)) for t, _, n in soak.samples if t >= warmup]
    slope = slope_per_minute(after)
    # The tail tells a bounded cache (levels off) from a leak (keeps climbing): the last 5 minutes, and every 2.
    end = soak.samples[-1][0] if soak.samples else 0.0
    tail = slope_per_minute([(t, kb) for t, kb in after if t >= end - 300])
    steps = [(start, slope_per_minute([(t, rss / 1024) for t, rss, _ in soak.samples if start <= t <= start + 120]))
             for start in range(0, int(end), 120)]  # fmt: skip
    rss_mb = [rss / 2**20 for _, rss, _ in soak.samples]
    requests = len(soak.latencies)
    failures = {k: v for k, v in soak.statuses.items() if not k.startswith(("2", "3", "stream 2"))}
    detail = {
        "backend": backend,
        "minutes": minutes,
        "warmup_seconds": warmup,
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "visitors": soak.visitors,
        "stream_events": soak.events,
        "statuses": dict(soak.statuses),
        "p50_ms": round(percentile(soak.latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(soak.latencies, 99) * 1000, 1),
        "rss_slope_kb_per_min": round(slope, 1),
        "rss_slope_last_5min_kb_per_min": round(tail, 1),
        "rss_slope_kb_per_min_by_2min": {f"{s // 60}-{s // 60 + 2}": round(v, 1) for s, v in steps},
        "rss_mb_first": round(soak.samples[0][1] / 2**20, 1) if soak.samples else None,
        "fd_slope_per_min": round(slope_per_minute(fds), 2),
        "rss_mb_first_after_warmup": round(after[0][1] / 1024, 1) if after else None,
        "rss_mb_last": round(rss_mb[-1], 1),
        "rss_mb_max": round(max(rss_mb), 1),
        "samples": soak.samples,
        "server_alive": alive,
        "ready_after": ready,
    }
    # Flat: under 1 MB per hour of growth after the warm-up (≈ 17 KB/min), no failed request, still healthy.
    flat = slope < 1024 / 60 and not failures and alive and ready == 200
    row: Row = (
        f"soak {minutes:g} min, mixed load (locustfile style), RSS every 10 s",
        backend,
        f"{requests} requests ({detail['requests_per_second']}/s, p50 {detail['p50_ms']} ms, p99 {detail['p99_ms']} "
        f"ms), {soak.visitors} visitors, {soak.events} stream events; failures: {failures or 'none'}",
        f"RSS slope after {warmup:.0f} s warm-up: {slope:+.1f} KB/min, last 5 min {tail:+.1f} KB/min "
        f"({detail['rss_mb_first']} at the start, {detail['rss_mb_first_after_warmup']} → "
        f"{detail['rss_mb_last']} MB, max {detail['rss_mb_max']}); open fds {detail['fd_slope_per_min']:+.2f}/min",
        flat,
    )
    return [row], detail


# -- the table -------------------------------------------------------------------------------------------------


def table(rows: list[Row], header: str) -> str:
    lines = [header, "", "| scenario | database | measured | result | verdict |", "|---|---|---|---|---|"]
    for scenario, database, measured, result, ok in rows:
        verdict = "" if ok is None else ("ok" if ok else "FAILED")
        lines.append(f"| {scenario} | {database} | {measured} | {result} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, metavar="NAME", help=f"scenarios: {SCENARIOS}")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--soak-backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    facts = machine()
    started = time.monotonic()
    rows: list[Row] = []
    details: dict[str, Any] = {}
    errors: list[str] = []
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sohbet-faults-") as scratch:
        workdir = Path(scratch)
        for name in args.only or SCENARIOS:
            log(f"{name}")
            try:
                if name == "soak":
                    found, details["soak"] = run_soak(workdir, args.soak_minutes, args.soak_backend)
                else:
                    found = {"sigkill": run_sigkill, "pg_outage": run_pg_outage, "disk_full": run_disk_full}[name](
                        workdir
                    )
            except Exception as error:
                errors.append(f"{name}: {type(error).__name__}: {str(error)[:2000]}")
                log(errors[-1])
                traceback.print_exc(file=sys.stderr)
                continue
            rows += found
    header = (
        f"Sohbet fault figures · {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {time.monotonic() - started:.0f} s · "
        f"{facts['cpu']}, {facts['cores']} cores, Python {facts['python']}, Linux {facts['kernel']}, load "
        f"{facts['load_1min_at_start']} at start · servers on {LOOPBACK}"
    )
    text = table(rows, header)
    print(text)
    for error in errors:
        print(f"error: {error.splitlines()[0]}")
    path = args.json or BENCH_DIR / "results" / "latest-faults.json"
    path.write_text(json.dumps({"table": text, "rows": rows, "details": details, "errors": errors}, indent=1,
                               default=str))  # fmt: skip
    return 1 if errors or any(ok is False for *_, ok in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
