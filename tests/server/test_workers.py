"""`sohbet serve --workers 2` as operators run it (after `sohbet migrate`, with `--no-migrate`), as a subprocess.

On PostgreSQL: the processes share one chat. Every request below goes over a fresh TCP connection (a new httpx
client each time) so uvicorn hands them to both workers, and the tests check through `GET /metrics` — whose
`process_start_time_seconds` tells the processes apart and whose counters are per process — that both workers did
answer: a visitor and an admin (login code read from the console, where whichever worker handled the login prints
it) across many requests, a message reaching visitor streams held by either worker, rate limits counted once for
all processes, and a graceful stop on SIGTERM. On SQLite `--workers 2` is refused (exit 2, with the reason).

Also here: the start command of railway.json serves and stops on SIGTERM within Railway's draining time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.streams import StreamReader, open_reader
from tests.support import (
    ADMIN_PASSWORD,
    BACKEND,
    CODE_RE,
    CSRF_RE,
    ROOT,
    base_env,
    create_database,
    drop_database,
    free_port,
    message_text,
    migrate,
    wait_until,
)

SOHBET = Path(sys.executable).with_name("sohbet")
SERVE = [str(SOHBET)] if SOHBET.exists() else [sys.executable, "-m", "app.cli"]
METRIC_RE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$", re.M)
THREAD_GET = ("/admin/threads/{thread_id}", "GET")
needs_postgres = pytest.mark.skipif(BACKEND != "postgres", reason="several workers need PostgreSQL")


# -- a multi-process server --------------------------------------------------------------------------------


@dataclass
class Cluster:
    """`sohbet serve --workers N --no-migrate` on loopback; all workers write to one stdout file."""

    env: dict[str, str]
    log_dir: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        workers = ["--workers", str(self.workers), "--no-migrate"]
        return [*SERVE, "serve", "--host", "127.0.0.1", "--port", str(self.port), *workers]

    def start(self) -> Cluster:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=(self.log_dir / "serve.out").open("ab"),
            stderr=(self.log_dir / "serve.err").open("ab"),
        )

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"sohbet serve exited early:\n{self.stderr()[-4000:]}")
            try:
                return httpx.get(self.url + "/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=45, message="sohbet serve --workers to be ready")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stdout(self) -> str:
        path = self.log_dir / "serve.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def stderr(self) -> str:
        path = self.log_dir / "serve.err"
        return path.read_text(errors="replace") if path.exists() else ""

    def login_codes(self) -> list[str]:
        return [m.group(2) for m in CODE_RE.finditer(self.stdout())]


class FreshClient:
    """A browser-like client whose every request opens a new TCP connection: cookies and the CSRF token carry over
    from one request to the next, the connection never does."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = httpx.Cookies()
        self.csrf_token = ""

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        with httpx.Client(base_url=self.base_url, cookies=self.cookies, timeout=10) as client:
            response = client.request(method, path, **kwargs)
            self.cookies = httpx.Cookies(client.cookies)
        if "text/html" in response.headers.get("content-type", ""):
            match = CSRF_RE.search(response.text)
            if match:
                self.csrf_token = match.group(1)
        return response

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs) -> httpx.Response:
        return self.request("POST", path, data={**(data or {}), "_csrf_token": self.csrf_token}, **kwargs)


# -- per-process metrics -----------------------------------------------------------------------------------


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    series = {}
    for name, labels, value in METRIC_RE.findall(text):
        pairs = frozenset(re.findall(r'(\w+)="([^"]*)"', labels or ""))
        series[(name, pairs)] = float(value)
    return series


def worker_metrics(url: str, workers: int = 2, tries: int = 200) -> dict[str, dict]:
    """The /metrics of every worker, keyed by its process_start_time_seconds: scrape over fresh connections until
    `workers` different processes have answered."""
    seen: dict[str, dict] = {}
    for _ in range(tries):
        with httpx.Client(timeout=5) as client:
            text = client.get(url + "/metrics").text
        start = re.search(r"^process_start_time_seconds (\S+)$", text, re.M).group(1)
        seen[start] = parse_metrics(text)
        if len(seen) >= workers:
            return seen
    raise AssertionError(f"only {len(seen)} of {workers} workers answered {tries} fresh connections")


def requests_to(series: dict, route: str, method: str) -> float:
    return sum(
        value
        for (name, labels), value in series.items()
        if name == "sohbet_http_requests_total" and ("route", route) in labels and ("method", method) in labels
    )


def gauge(series: dict, name: str, **labels: str) -> float:
    wanted = frozenset(labels.items())
    return sum(value for (metric, have), value in series.items() if metric == name and wanted <= have)


# -- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if BACKEND != "postgres":
        pytest.skip("several workers need PostgreSQL: run with SOHBET_TEST_DB=postgres")
    tmp = tmp_path_factory.mktemp("workers")
    url = create_database(tmp)
    env = {**base_env(tmp, url), "RATE_LIMIT_MESSAGES": "3/minute", "SSE_PING_SECONDS": "1"}
    migrate(url, env)
    server = Cluster(env=env, log_dir=tmp / "logs").start()
    try:
        yield server
    finally:
        server.stop()
        drop_database(url)


def start_visitor(cluster: Cluster, name: str) -> FreshClient:
    visitor = FreshClient(cluster.url)
    assert visitor.get("/").status_code == 200
    response = visitor.post("/chat/start", {"display_name": name})
    assert response.status_code == 303, response.text
    assert visitor.cookies.get("sohbet_visitor")
    return visitor


def login_admin(cluster: Cluster) -> FreshClient:
    admin = FreshClient(cluster.url)
    assert admin.get("/login").status_code == 200
    before = len(cluster.login_codes())
    response = admin.post("/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    code = wait_until(lambda: cluster.login_codes()[before:], message="a login code on the console")[-1]
    response = admin.post("/login/verify", {"code": code})
    assert response.status_code == 303 and response.headers["location"] == "/admin", response.text
    return admin


def thread_id(admin: FreshClient, name: str) -> int:
    page = admin.get("/admin").text
    for match in re.finditer(r'<li id="thread-(\d+)".*?<span class="name">(.*?)</span>', page, re.S):
        if match.group(2) == name:
            return int(match.group(1))
    raise AssertionError(f"no thread named {name}")


# -- the tests ---------------------------------------------------------------------------------------------


@needs_postgres
def test_both_workers_serve_a_visitor_and_an_admin(cluster):
    before = worker_metrics(cluster.url)
    assert len(before) == 2

    visitor = start_visitor(cluster, "Çok işçi")
    assert visitor.post("/chat/messages", {"text": "hello from any worker"}).status_code == 303
    admin = login_admin(cluster)
    thread = thread_id(admin, "Çok işçi")
    for round_ in range(12):
        page = admin.get(f"/admin/threads/{thread}")
        assert page.status_code == 200 and "hello from any worker" in page.text, round_
        assert visitor.get("/").status_code == 200
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": "answer one"}).status_code == 303
    for _ in range(6):
        assert "answer one" in visitor.get("/").text

    after = worker_metrics(cluster.url)
    served = {
        start: requests_to(series, *THREAD_GET) - requests_to(before[start], *THREAD_GET)
        for start, series in after.items()
    }
    assert all(count > 0 for count in served.values()), f"one worker answered every admin page: {served}"
    visitor_pages = {start: requests_to(series, "/", "GET") for start, series in after.items()}
    assert all(count > 0 for count in visitor_pages.values()), (
        f"one worker answered every visitor page: {visitor_pages}"
    )


@needs_postgres
def test_a_message_reaches_visitor_streams_held_by_either_worker(cluster):
    visitor = start_visitor(cluster, "Dinleyen")
    admin = login_admin(cluster)
    thread = thread_id(admin, "Dinleyen")
    readers: list[StreamReader] = []
    try:
        # Each reader is its own connection; open them until both workers hold at least one visitor stream.
        for _ in range(12):
            readers.append(open_reader(cluster.url, "/chat/events", visitor.cookies))
            held = worker_metrics(cluster.url)
            if all(gauge(s, "sohbet_sse_streams_open", audience="visitor") > 0 for s in held.values()):
                break
        else:
            raise AssertionError("every visitor stream landed on the same worker")
        texts = [f"canlı {i}" for i in range(5)]
        for text in texts:  # each POST on a fresh connection: any worker stores it, every stream gets it
            assert admin.post(f"/admin/threads/{thread}/messages", {"text": text}).status_code == 303
        for reader in readers:
            messages = reader.wait_for_messages(len(texts), timeout=20)
            assert [message_text(m.data) for m in messages] == texts
            assert [int(m.id) for m in messages] == list(range(1, len(texts) + 1))
    finally:
        for reader in readers:
            reader.close()


@needs_postgres
def test_rate_limits_are_shared_by_the_workers(cluster):
    visitor = start_visitor(cluster, "Acele")
    before = worker_metrics(cluster.url)
    statuses = [visitor.post("/chat/messages", {"text": f"m{i}"}).status_code for i in range(8)]
    after = worker_metrics(cluster.url)
    per_worker = {
        start: requests_to(after[start], "/chat/messages", "POST")
        - requests_to(before[start], "/chat/messages", "POST")
        for start in after
    }
    # RATE_LIMIT_MESSAGES=3/minute for the whole chat: three accepted, then 429 whichever worker answers.
    assert statuses == [303, 303, 303] + [429] * 5, statuses
    assert sum(per_worker.values()) == 8
    assert all(count > 0 for count in per_worker.values()), f"one worker answered every POST: {per_worker}"


@needs_postgres
def test_sigterm_stops_every_worker_gracefully(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workers-stop")
    url = create_database(tmp)
    env = {**base_env(tmp, url), "SSE_PING_SECONDS": "1"}
    migrate(url, env)
    server = Cluster(env=env, log_dir=tmp / "logs").start()
    readers: list[StreamReader] = []
    try:
        visitor = start_visitor(server, "Kapanış")
        readers = [open_reader(server.url, "/chat/events", visitor.cookies) for _ in range(4)]
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=30)
        elapsed = time.monotonic() - started
        assert code == 0, server.stderr()[-3000:]
        assert elapsed < 30
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url + "/health/live", timeout=2)
    finally:
        for reader in readers:
            reader.close()
        server.stop()
        drop_database(url)


def test_sqlite_refuses_several_workers(tmp_path):
    env = {**base_env(tmp_path, f"sqlite:///{tmp_path / 'one.sqlite3'}")}
    done = subprocess.run(
        [*SERVE, "serve", "--workers", "2", "--port", str(free_port()), "--no-migrate"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "SQLite runs in one process; use PostgreSQL for --workers > 1" in done.stderr


def test_railway_start_command_serves_and_stops_within_the_draining_time(tmp_path):
    """railway.json's preDeployCommand then startCommand, with /app/venv/bin pointed at this virtualenv and PORT set
    as Railway does."""
    deploy = json.loads((ROOT / "railway.json").read_text())["deploy"]
    here = f"{Path(sys.executable).parent}/"
    command = deploy["startCommand"].replace("/app/venv/bin/", here)
    url = create_database(tmp_path)
    # PYTHONPATH: the console scripts import the package this checkout is, not where the virtualenv points.
    env = {**base_env(tmp_path, url), "PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    for pre_deploy in deploy["preDeployCommand"]:  # checks + migrations, as Railway runs them before the start
        done = subprocess.run(
            shlex.split(pre_deploy.replace("/app/venv/bin/", here)),
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    process = subprocess.Popen(
        shlex.split(command),  # exec form: Railway does not add a shell; the command brings its own
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=(tmp_path / "railway.out").open("ab"),
        stderr=(tmp_path / "railway.err").open("ab"),
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:

        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "railway.err").read_text()[-3000:]
            try:
                return httpx.get(base + deploy["healthcheckPath"], timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=30, message="the Railway start command to pass the healthcheck")
        # Behind Railway's proxy the forwarded client address and scheme are trusted ('*').
        forwarded = httpx.get(base + "/health/live", headers={"X-Forwarded-Proto": "https"}, timeout=5)
        assert forwarded.status_code == 200
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=deploy["drainingSeconds"])
        assert time.monotonic() - started < deploy["drainingSeconds"]
        # A single uvicorn process re-raises the signal once its graceful shutdown is complete.
        assert code in (0, -signal.SIGTERM), code
        log = (tmp_path / "railway.err").read_text()
        assert "Application shutdown complete." in log and "Finished server process" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        drop_database(url)
