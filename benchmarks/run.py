"""Run every benchmark scenario and print one table (see benchmarks/README.md).

    python -m benchmarks.run [--size tiny|small|full] [--only NAME ...] [--targets NAME ...] [--json FILE]

Scenarios (NAME): page, visitors, throughput, latency. Targets: sqlite and postgres (Sohbet on each database),
floor (the raw-ASGI app in peers/raw_asgi.py), peer (the old stack, peers/socketio_chat.py, Flask-SocketIO).
Every server is a fresh subprocess on 127.0.0.1 with a fresh database, pinned to CPU 0; the load generator
(benchmarks/load.py) is another process pinned to CPU 1. Sizes bound every run; `small` and `full` repeat each
measurement 3 times and print medians with the spread (min–max).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchmarks.common import (
    BENCH_DIR,
    LOAD_CPU,
    LOOPBACK,
    ROOT,
    SERVER_CPU,
    machine,
    median,
    pinned,
    raise_fd_limit,
    require_loopback,
)

SCENARIOS = ("page", "visitors", "throughput", "latency")
TARGETS = ("sqlite", "postgres", "floor", "peer")
PEER_VENV = BENCH_DIR / ".venv-peer"
PEER_REQUIREMENTS = BENCH_DIR / "peers" / "requirements.txt"
P99_LIMIT_MS = 100.0

SIZES: dict[str, dict[str, Any]] = {
    # CI: every scenario once, as small as still says something (the whole run stays well under 3 minutes).
    "tiny": {
        "runs": 1,
        "idle": [40],
        "storm_messages": 2,
        "scenario_seconds": 60,
        "throughput": {"conversations": 4, "start_rate": 40, "growth": 2.0, "max_rate": 80, "step_seconds": 1.0,
                       "refine": 0, "time_budget": 15},
        "latency": {"visitors": 40, "conversations": 4, "rate": 10, "seconds": 2.0},
    },
    "small": {
        "runs": 3,
        "idle": [200, 1000],
        "storm_messages": 1,
        "scenario_seconds": 240,
        "throughput": {"conversations": 10, "start_rate": 100, "growth": 1.5, "max_rate": 6000, "step_seconds": 2.0,
                       "refine": 2, "time_budget": 90},
        "latency": {"visitors": 1000, "conversations": 10, "rate": 100, "seconds": 5.0},
    },
    "full": {
        "runs": 3,
        "idle": [1000, 5000],
        "storm_messages": 1,
        "scenario_seconds": 300,
        "throughput": {"conversations": 10, "start_rate": 100, "growth": 1.4, "max_rate": 8000, "step_seconds": 4.0,
                       "refine": 3, "time_budget": 150},
        "latency": {"visitors": 1000, "conversations": 10, "rate": 100, "seconds": 10.0},
    },
}  # fmt: skip


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


# -- servers ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One server under test: a subprocess on 127.0.0.1 pinned to the server CPU."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_dir: Path
    ready_path: str = "/health"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _out(self, suffix: str) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.{suffix}"

    def start(self, timeout: float = 45) -> Server:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        self.process = subprocess.Popen(
            pinned(command, SERVER_CPU),
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self._out("out").open("ab"),
            stderr=self._out("err").open("ab"),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited early:\n{self.stderr()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"{self.name} not ready after {timeout}s:\n{self.stderr()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stdout(self) -> str:
        path = self._out("out")
        return path.read_text(errors="replace") if path.exists() else ""

    def stderr(self) -> str:
        path = self._out("err")
        return path.read_text(errors="replace") if path.exists() else ""

    def login_codes(self) -> list[str]:
        from tests.support import CODE_RE

        return [m.group(2) for m in CODE_RE.finditer(self.stdout())]


class Bench:
    def __init__(self, size: str, workdir: Path) -> None:
        self.size = size
        self.config = SIZES[size]
        self.workdir = workdir
        self.notes: list[str] = []
        self.peer_python: Path | None = None
        self.peer_mode = ""
        self.profile = False
        self.client_bound: set[str] = set()  # targets whose throughput steps failed while the sender lagged

    # -- starting each kind of server --

    @contextlib.contextmanager
    def sohbet(self, backend: str) -> Iterator[Server]:
        from tests.support import base_env, create_database, drop_database, migrate

        tmp = Path(tempfile.mkdtemp(prefix=f"sohbet-{backend}-", dir=self.workdir))
        if backend == "postgres":
            from tests.support import PG_ADMIN_DSN

            require_loopback(urlsplit(PG_ADMIN_DSN).hostname or "")
        url = create_database(tmp, backend)
        try:
            env = {**base_env(tmp, url), "SSE_PING_SECONDS": "15", "PYTHONWARNINGS": ""}
            # A log line per request, as production writes them (development logs them only at DEBUG).
            env["LOG_LEVEL"] = "DEBUG"
            # Thousands of streams from one address and one admin session: lift the per-address/session caps.
            env |= {"MAX_STREAMS_PER_IP": "100000", "MAX_STREAMS_PER_SESSION": "100000"}
            migrate(url, env)
            command = [sys.executable, "-m", "uvicorn", "app.main:app_factory", "--factory", "--host", LOOPBACK,
                       "--port", "{port}", "--no-access-log", "--no-server-header",
                       "--timeout-graceful-shutdown", "5"]  # fmt: skip
            server = Server(f"sohbet-{backend}", command, env, tmp, ready_path="/health/ready").start()
            try:
                yield server
            finally:
                server.stop()
        finally:
            drop_database(url)

    @contextlib.contextmanager
    def floor(self) -> Iterator[Server]:
        tmp = Path(tempfile.mkdtemp(prefix="floor-", dir=self.workdir))
        command = [sys.executable, "-m", "uvicorn", "benchmarks.peers.raw_asgi:app", "--host", LOOPBACK,
                   "--port", "{port}", "--no-access-log", "--log-level", "warning"]  # fmt: skip
        server = Server("floor", command, {}, tmp).start()
        try:
            yield server
        finally:
            server.stop()

    @contextlib.contextmanager
    def peer(self) -> Iterator[Server]:
        if self.peer_python is None:
            raise BenchError("old stack unavailable")
        tmp = Path(tempfile.mkdtemp(prefix="peer-", dir=self.workdir))
        script = str(BENCH_DIR / "peers" / "socketio_chat.py")
        command = [str(self.peer_python), script, "{port}", str(tmp / "peer.sqlite3"), self.peer_mode]
        server = Server("peer", command, {"PYTHONWARNINGS": "ignore"}, tmp).start()
        try:
            yield server
        finally:
            server.stop()

    def server(self, target: str) -> contextlib.AbstractContextManager[Server]:
        if target in ("sqlite", "postgres"):
            return self.sohbet(target)
        return self.floor() if target == "floor" else self.peer()

    # -- the old stack's own venv --

    def prepare_peer(self) -> None:
        """benchmarks/.venv-peer with Flask-SocketIO + eventlet (built once, rebuilt when requirements change)."""
        python = PEER_VENV / "bin" / "python"
        stamp = PEER_VENV / ".requirements.sha256"
        digest = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
        try:
            if not python.exists() or not stamp.exists() or stamp.read_text().strip() != digest:
                log("building benchmarks/.venv-peer (Flask-SocketIO, eventlet)")
                shutil.rmtree(PEER_VENV, ignore_errors=True)
                base = getattr(sys, "_base_executable", sys.executable)
                subprocess.run([base, "-m", "venv", str(PEER_VENV)], check=True, capture_output=True, timeout=120)
                subprocess.run(
                    [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                     str(PEER_REQUIREMENTS)],
                    check=True, capture_output=True, timeout=300,
                )  # fmt: skip
                stamp.write_text(digest)
        except (subprocess.SubprocessError, OSError) as error:
            detail = getattr(error, "stderr", b"") or b""
            self.notes.append(f"old stack skipped: its venv could not be built ({type(error).__name__})")
            log(f"peer venv failed: {error} {detail[-500:]!r}")
            return
        for mode in ("eventlet", "threading"):
            check = f"import flask_socketio{', eventlet; eventlet.monkey_patch()' if mode == 'eventlet' else ''}"
            probe = subprocess.run([str(python), "-W", "ignore", "-c", check], capture_output=True, timeout=60)
            if probe.returncode == 0:
                self.peer_python, self.peer_mode = python, mode
                if mode != "eventlet":
                    self.notes.append(f"old stack: eventlet does not work here, ran Flask-SocketIO in {mode} mode")
                return
        self.notes.append("old stack skipped: Flask-SocketIO does not import in benchmarks/.venv-peer")

    # -- the load generator --

    def load(self, server: Server, target: str, job: str, timeout: float, **spec: Any) -> dict[str, Any]:
        kind = "sohbet" if target in ("sqlite", "postgres") else target
        spec = {"job": job, "target": kind, "host": LOOPBACK, "port": server.port, "server_pid": server.pid,
                "timeout": timeout, **spec}  # fmt: skip
        process = subprocess.run(
            pinned([sys.executable, "-m", "benchmarks.load"], LOAD_CPU),
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout + 60,
            check=False,
        )
        (server.log_dir / f"load-{job}.err").write_text(process.stderr)
        if process.returncode != 0:
            raise BenchError(f"load generator failed ({job}, {target}):\n{process.stderr[-3000:]}")
        return json.loads(process.stdout.strip().splitlines()[-1])

    def admin_cookies(self, server: Server) -> dict[str, str]:
        from tests.support import login_admin

        admin = login_admin(server)  # type: ignore[arg-type]
        try:
            return {name: value for name, value in admin.http.cookies.items()}
        finally:
            admin.close()

    # -- scenarios: each returns {target: {metric: value}} for one run --

    def scenario_page(self, target: str, run: int) -> dict[str, Any]:
        from benchmarks import pageweight
        from tests.support import find_thread, login_admin, start_visitor

        with self.server(target) as server:
            visitor = start_visitor(server.url, "Page Weight")
            admin = login_admin(server)  # type: ignore[arg-type]
            thread = find_thread(admin, "Page Weight")
            for i in range(10):
                question = {"text": f"Hello, this is question number {i + 1}."}
                assert visitor.post("/chat/messages", question).status_code in (200, 303)
                answer = {"text": f"Thanks! Here is answer {i + 1}, with a link: https://example.com/help/{i}"}
                assert admin.post(f"/admin/threads/{thread}/messages", answer).status_code in (200, 303)
            cookies = [
                {"name": name, "value": value, "domain": LOOPBACK, "path": "/"}
                for name, value in visitor.http.cookies.items()
                if name == "sohbet_visitor"
            ]
            widget = httpx.get(server.url + "/embed.js", timeout=5, follow_redirects=True).status_code == 200
            visitor.close()
            admin.close()
            result = pageweight.run(server.url, cookies, widget)
        metrics: dict[str, Any] = {}
        for key, measured in result.items():
            metrics[f"page_{key}_kb"] = round(measured["total_bytes"] / 1024, 2)
            metrics[f"page_{key}_headers_kb"] = round(measured["header_bytes"] / 1024, 2)
            for kind, size in measured["by_kind"].items():
                metrics[f"page_{key}_{kind}_kb"] = round(size / 1024, 2)
        if not widget:
            metrics["page_widget_kb"] = "not built (no /embed.js)"
        metrics["_detail"] = result
        return metrics

    def scenario_visitors(self, target: str, run: int) -> dict[str, Any]:
        sizes = self.config["idle"]
        storm = self.config["storm_messages"] if target in ("sqlite", "postgres", "floor") else 0
        with self.server(target) as server:
            result = self.load(server, target, "visitors", 120 + sizes[-1] * 0.15, sizes=sizes,
                               storm_messages=storm, storm_timeout=60)  # fmt: skip
        metrics: dict[str, Any] = {"rss_base_mb": result["rss_base_mb"]}
        for size, measured in result["memory"].items():
            metrics[f"idle_kb@{size}"] = measured["kb_per_stream"]
        if len(sizes) > 1:  # each stream beyond the first size: fixed costs and reused heap do not blur this one
            low, high = result["memory"][str(sizes[0])], result["memory"][str(sizes[-1])]
            metrics["idle_kb_marginal"] = round((high["rss_mb"] - low["rss_mb"]) * 1024 / (sizes[-1] - sizes[0]), 1)
        if "storm" in result:
            s = result["storm"]
            metrics["storm_s"] = s["seconds_all_caught_up"] if s["seconds_all_caught_up"] is not None else "timeout"
            metrics["storm_bad"] = s["visitors_lost_messages"] + s["visitors_duplicated"] + s["visitors_out_of_order"]
        metrics["_detail"] = result
        return metrics

    def scenario_throughput(self, target: str, run: int) -> dict[str, Any]:
        spec = dict(self.config["throughput"])
        previous = self.first_max.get(target)
        if previous:  # later runs start near the first run's answer (saves time; the ladder still climbs)
            spec["start_rate"] = max(spec["start_rate"], round(previous * 0.6))
        with self.server(target) as server:
            extra = {"admin_cookies": self.admin_cookies(server)} if target in ("sqlite", "postgres") else {}
            profiling = contextlib.nullcontext()
            if self.profile and run == 0:
                from benchmarks.profile import recording

                profiling = recording(server.pid, BENCH_DIR / "results" / f"profile-{target}-throughput")
            with profiling:
                result = self.load(server, target, "throughput", spec["time_budget"] + 60,
                                   p99_limit_ms=P99_LIMIT_MS, **spec, **extra)  # fmt: skip
        self.first_max.setdefault(target, result["max_rate"])
        failed = [step for step in result["steps"] if not step["passed"]]
        if failed and min(step["sender_late_p99_ms"] for step in failed) > 20:
            self.client_bound.add(target)
        best = result["at_max"]
        return {
            "tp_max": result["max_rate"],
            "tp_p50": best["p50_ms"],
            "tp_p99": best["p99_ms"],
            "_detail": result,
        }

    def scenario_latency(self, target: str, run: int) -> dict[str, Any]:
        spec = self.config["latency"]
        with self.server(target) as server:
            extra = {"admin_cookies": self.admin_cookies(server)} if target in ("sqlite", "postgres") else {}
            result = self.load(server, target, "latency", 120 + spec["visitors"] * 0.05, **spec, **extra)
        return {
            "lat_p50": result["p50_ms"],
            "lat_p99": result["p99_ms"],
            "lat_late_or_lost": result["late_or_lost"] + result["post_errors"],
            "_detail": result,
        }

    def targets_for(self, scenario: str) -> list[str]:
        return {
            "page": ["sqlite"],
            "visitors": ["sqlite", "floor", "peer"],
            "throughput": ["sqlite", "postgres", "floor", "peer"],
            "latency": ["sqlite", "postgres", "floor", "peer"],
        }[scenario]

    def run(self, scenarios: list[str], targets: list[str]) -> dict[str, Any]:
        self.first_max: dict[str, float] = {}
        runs = self.config["runs"]
        results: dict[str, dict[str, list[Any]]] = {t: {} for t in TARGETS}
        details: list[dict[str, Any]] = []
        errors: list[str] = []
        if "peer" in targets and any("peer" in self.targets_for(s) for s in scenarios):
            self.prepare_peer()
        for scenario in scenarios:
            method: Callable[[str, int], dict[str, Any]] = getattr(self, f"scenario_{scenario}")
            for target in self.targets_for(scenario):
                if target not in targets or (target == "peer" and self.peer_python is None):
                    continue
                if target == "postgres" and not postgres_available():
                    self.notes.append("PostgreSQL skipped: nothing answers on 127.0.0.1:5432")
                    continue
                first_started = time.monotonic()
                for run in range(1 if scenario == "page" else runs):
                    if run and time.monotonic() - first_started > self.config["scenario_seconds"]:
                        self.notes.append(f"{scenario} on {target}: {run} run(s) only, to stay in the time budget")
                        break
                    log(f"{scenario} · {target} · run {run + 1}")
                    started = time.monotonic()
                    try:
                        metrics = method(target, run)
                    except Exception as error:
                        errors.append(f"{scenario}/{target}: {type(error).__name__}: {str(error)[:2000]}")
                        log(errors[-1])
                        traceback.print_exc(file=sys.stderr)
                        break
                    details.append({"scenario": scenario, "target": target, "run": run + 1,
                                    "seconds": round(time.monotonic() - started, 1),
                                    "detail": metrics.pop("_detail", None)})  # fmt: skip
                    for key, value in metrics.items():
                        results[target].setdefault(key, []).append(value)
        return {"results": results, "details": details, "errors": errors}


def app_version() -> str:
    """The commit under test, and whether app/ has uncommitted changes (or the snapshot's `.bench-commit`)."""
    stamp = ROOT / ".bench-commit"
    if stamp.exists():
        return f"commit {stamp.read_text().strip()} (snapshot)"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "app"], cwd=ROOT, capture_output=True, text=True,
                               check=True, timeout=10).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    return f"commit {commit}" + (" + uncommitted app/ changes" if dirty else "")


def postgres_available() -> bool:
    try:
        from tests.support import PG_ADMIN_DSN
    except ImportError:
        return False
    parts = urlsplit(PG_ADMIN_DSN)
    import socket

    try:
        with socket.create_connection((require_loopback(parts.hostname or ""), parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


# -- the table -------------------------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    target: dict[str, tuple[str, float]]  # column -> (comparison, bound); "" = every Sohbet column
    target_text: str
    columns: tuple[str, ...] = ("sqlite", "postgres", "floor", "peer")
    unit_digits: int = 1


def rows(config: dict[str, Any]) -> list[Row]:
    small, large = config["idle"][0], config["idle"][-1]
    lat = config["latency"]
    storm_n, storm_k = config["idle"][-1], config["storm_messages"]
    table = [
        Row("page_start_kb", "visitor page, start form, cold: KB transferred", {"sqlite": ("<=", 25)}, "≤ 25",
            ("sqlite",), 1),
        Row("page_start_script_kb", "  of which scripts, KB", {}, "", ("sqlite",), 1),
        Row("page_start_headers_kb", "  of which response headers (HTTP/1.1), KB", {}, "", ("sqlite",), 1),
        Row("page_chat_kb", "visitor page, 20-message conversation, cold: KB", {"sqlite": ("<=", 25)}, "≤ 25",
            ("sqlite",), 1),
        Row("page_chat_headers_kb", "  of which response headers (HTTP/1.1), KB", {}, "", ("sqlite",), 1),
        Row("page_widget_kb", "widget launcher on a host page, before a click: KB", {"sqlite": ("<=", 3)}, "≤ 3",
            ("sqlite",), 2),
        Row(f"idle_kb@{large}", f"memory per idle visitor stream @ {large:,}: KB", {"sqlite": ("<=", 25)}, "≤ 25",
            ("sqlite", "floor", "peer"), 1),
        Row("tp_max", f"throughput, stored+encrypted+on 2 streams, p99 ≤ {P99_LIMIT_MS:.0f} ms: msg/s",
            {"sqlite": (">=", 1500), "postgres": (">=", 1000)}, "≥ 1500 SQLite, ≥ 1000 PG", unit_digits=0),
        Row("tp_p50", "  p50 at that rate: ms", {}, ""),
        Row("tp_p99", "  p99 at that rate: ms", {}, f"≤ {P99_LIMIT_MS:.0f}"),
        Row("lat_p50", f"latency POST→both streams, {lat['visitors']:,} visitors, {lat['rate']} msg/s: p50 ms",
            {"sqlite": ("<=", 5), "postgres": ("<=", 5)}, "≤ 5", unit_digits=2),
        Row("lat_p99", "  p99 ms", {"sqlite": ("<=", 25), "postgres": ("<=", 25)}, "≤ 25", unit_digits=2),
        Row("storm_s", f"reconnect storm, {storm_n:,} visitors × {storm_k} missed msgs: s to all caught up",
            {"sqlite": ("<=", 5)}, "≤ 5", ("sqlite", "floor"), 2),
        Row("storm_bad", "  visitors that lost, repeated or reordered a message", {"sqlite": ("<=", 0)}, "0",
            ("sqlite", "floor"), 0),
        Row("vs_old_tp", "throughput vs old stack (same scenario): ×", {"sqlite": (">=", 2)}, "≥ 2×", ("sqlite",),
            2),
        Row("vs_old_mem", f"memory per idle visitor vs old stack @ {large:,}: ×", {"sqlite": ("<=", 0.5)}, "≤ 0.5×",
            ("sqlite",), 2),
    ]  # fmt: skip
    if small != large:
        at = next(i for i, row in enumerate(table) if row.key == f"idle_kb@{large}") + 1
        table[at:at] = [Row("idle_kb_marginal", f"  each stream from {small:,} to {large:,}: KB", {}, "",
                            ("sqlite", "floor", "peer"), 1)]  # fmt: skip
        table.insert(at - 1, Row(f"idle_kb@{small}", f"memory per idle visitor stream @ {small:,}: KB", {}, "",
                                 ("sqlite", "floor", "peer"), 1))  # fmt: skip
    return table


def numbers(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def add_ratios(results: dict[str, dict[str, list[Any]]], config: dict[str, Any]) -> None:
    ours, old = results["sqlite"], results["peer"]
    large = config["idle"][-1]
    for key, name, invert in (("tp_max", "vs_old_tp", False), (f"idle_kb@{large}", "vs_old_mem", False)):
        mine, theirs = numbers(ours.get(key, [])), numbers(old.get(key, []))
        if mine and theirs and median(theirs) > 0:
            ours[name] = [round(median(mine) / median(theirs), 2)]
        del invert


def cell(values: list[Any], digits: int) -> str:
    if not values:
        return "–"
    found = numbers(values)
    if not found:
        return str(values[0])[:40]
    middle = median(found)
    if middle == float("inf"):
        return "overloaded"  # some messages arrived later than the drain time, or never
    text = f"{middle:,.{digits}f}"
    if len(found) > 1:
        spread = [f"{v:,.{digits}f}" if v != float("inf") else "overloaded" for v in (min(found), max(found))]
        text += f" ({spread[0]}–{spread[1]})"
    if len(found) < len(values):
        text += " !"
    return text


def verdict(row: Row, results: dict[str, dict[str, list[Any]]]) -> str:
    if not row.target:
        return ""
    outcome = []
    for column, (op, bound) in row.target.items():
        found = numbers(results[column].get(row.key, []))
        if not found:
            continue
        value = median(found)
        outcome.append(value <= bound if op == "<=" else value >= bound)
    if not outcome:
        return "n/a"
    return "met" if all(outcome) else "MISSED"


def table(report: dict[str, Any], config: dict[str, Any], header: str) -> str:
    results = report["results"]
    columns = [("metric", None), ("ours SQLite", "sqlite"), ("ours PostgreSQL", "postgres"),
               ("raw-ASGI floor", "floor"), ("old stack", "peer"), ("target (SPEC §7)", None), ("", None)]  # fmt: skip
    lines = []
    for row in rows(config):
        line = [row.label]
        for _, column in columns[1:5]:
            line.append(cell(results[column].get(row.key, []), row.unit_digits) if column in row.columns else "")
        line += [row.target_text, verdict(row, results)]
        lines.append(line)
    widths = [max(len(str(r[i])) for r in [[c for c, _ in columns], *lines]) for i in range(len(columns))]

    def fmt(parts: list[str]) -> str:
        first = parts[0].ljust(widths[0])
        rest = [p.rjust(w) if i < 4 else p.ljust(w) for i, (p, w) in enumerate(zip(parts[1:], widths[1:], strict=True))]
        return "| " + " | ".join([first, *rest]) + " |"

    out = [header, fmt([c for c, _ in columns]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, metavar="NAME", help=f"scenarios: {SCENARIOS}")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--runs", type=int, help="repetitions per measurement (default: 1 tiny, 3 otherwise)")
    parser.add_argument("--json", type=Path, help="also write every number (and each run's detail) here")
    parser.add_argument("--profile", action="store_true", help="py-spy the first throughput run of each target")
    parser.add_argument("--logs", type=Path, help="keep every server's and load generator's logs here")
    args = parser.parse_args(argv)
    config = dict(SIZES[args.size])
    if args.runs:
        config["runs"] = args.runs
    fd_limit = raise_fd_limit()
    if fd_limit < config["idle"][-1] * 2 + 200:
        raise SystemExit(f"the open-file limit ({fd_limit}) is too low for {config['idle'][-1]} visitors")
    facts = machine()
    started = time.monotonic()
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        workdir = args.logs or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sohbet-bench-")))
        bench = Bench(args.size, workdir)
        bench.config = config
        bench.profile = args.profile
        report = bench.run(args.only or list(SCENARIOS), args.targets)
    add_ratios(report["results"], config)
    header = (
        f"Sohbet benchmarks · size {args.size} · {config['runs']} run(s), median (min–max) · "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {time.monotonic() - started:.0f} s\n"
        f"machine: {facts['cpu']}, {facts['cores']} cores, Python {facts['python']}, Linux {facts['kernel']}, "
        f"load {facts['load_1min_at_start']} at start; server on CPU {SERVER_CPU}, load generator on CPU {LOAD_CPU}; "
        f"Sohbet at {app_version()}"
    )
    text = table(report, config, header)
    notes = bench.notes + [f"error: {e.splitlines()[0]}" for e in report["errors"]]
    notes += [
        f"throughput on {target}: the load generator itself fell behind (> 20 ms late) in the failing steps, so "
        "this number is a lower bound on this machine at this moment"
        for target in sorted(bench.client_bound)
    ]
    if bench.peer_mode:
        notes.append(f"old stack: Flask-SocketIO in {bench.peer_mode} mode (WebSocket transport), SQLite + Fernet")
    print(text)
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    payload = {"size": args.size, "config": config, "machine": facts, "table": text, "notes": notes, **report}
    path = args.json or BENCH_DIR / "results" / f"latest-{args.size}.json"
    path.write_text(json.dumps(payload, indent=1, default=str))
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
