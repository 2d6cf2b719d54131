"""Test support: real uvicorn servers on loopback, fresh databases, an HTTP client that behaves like a browser,
and a server-sent-events reader. Nothing here mocks the application."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from cryptography.fernet import Fernet

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("SOHBET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKEND = os.environ.get("SOHBET_TEST_DB", "sqlite")
ADMIN_PASSWORD = "correct-horse-battery-staple"
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
CODE_RE = re.compile(r"Login code for (\S+): (\d{6})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


# -- databases ---------------------------------------------------------------------------------------------


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run(make())`, in a thread of its own when this thread already runs an event loop (Playwright's sync
    API does, so a test that starts a server after opening a browser needs this)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def create_database(tmp_path: Path, backend: str = BACKEND, *, template: str | None = None) -> str:
    """A new, empty database (or, on PostgreSQL, a copy of the database `template` names)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'sohbet-{secrets.token_hex(4)}.sqlite3'}"
    name = f"sohbet_test_{secrets.token_hex(6)}"
    copy = f' TEMPLATE "{template}"' if template else ""

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"{copy}')
        finally:
            await conn.close()

    run_coroutine(create)
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


# The local cluster that outage tests stop and start (pg_ctlcluster VERSION NAME), e.g. SOHBET_TEST_PG_CLUSTER=16/main.
PG_VERSION, _, PG_CLUSTER = os.environ.get("SOHBET_TEST_PG_CLUSTER", "15/main").partition("/")


def can_control_postgres() -> bool:
    """Stopping and starting the local PostgreSQL needs pg_ctlcluster and root."""
    return shutil.which("pg_ctlcluster") is not None and os.geteuid() == 0


def pg_ctl(action: str) -> None:
    """`pg_ctlcluster ... stop|start|restart` on the test cluster; returns once the command has finished."""
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, PG_CLUSTER, action],
        check=True,
        timeout=60,
        capture_output=True,
    )


def pg_accepts_connections() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False).returncode == 0


def drop_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    with contextlib.suppress(Exception):
        run_coroutine(drop)


_migrated_templates: dict[str, str] = {}


def migrated_database(tmp_path: Path, backend: str = BACKEND) -> str:
    """A new database with every migration applied: a copy of one that `sohbet migrate` migrated once per test
    process (migrating each server's database in a subprocess cost ~3 s, hundreds of times per run)."""
    template = _migrated_templates.get(backend)
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="sohbet-template-"))
        template = create_database(folder, backend)
        migrate(template, base_env(folder, template))
        _migrated_templates[backend] = template
        atexit.register(drop_database, template)
    if backend == "sqlite":
        url = create_database(tmp_path, backend)
        target = Path(url.removeprefix("sqlite:///"))
        shutil.copyfile(template.removeprefix("sqlite:///"), target)
        target.chmod(0o600)
        return url
    return create_database(tmp_path, backend, template=template.rsplit("/", 1)[1])


def migrate(url: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env={**os.environ, **env, "DATABASE_URL": url},
        check=True,
        capture_output=True,
        timeout=120,
    )


# -- servers -----------------------------------------------------------------------------------------------


def base_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "development",
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-" + "x" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RATE_LIMIT_MESSAGES": "100000/minute",
        "RATE_LIMIT_UPLOADS": "100000/minute",
        "RATE_LIMIT_LOGIN": "100000/minute",
        "RATE_LIMIT_API": "100000/minute",
        "RATE_LIMIT_START": "100000/minute",
        "START_MIN_SECONDS": "0",  # tests post the start form at once (tests/server/test_bots.py: the bot rules)
        "LOG_LEVEL": "INFO",
        "SSE_PING_SECONDS": "2",  # readers notice a close within one ping
        "PYTHONUNBUFFERED": "1",
        "PYTHONWARNINGS": "error::DeprecationWarning:app",
    }


@dataclass
class Server:
    """One uvicorn process serving create_app() on loopback."""

    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    name: str = "server"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.out"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.err"

    def start(self, timeout: float = 30) -> Server:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app_factory",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--no-server-header",  # as `sohbet serve`
                "--no-proxy-headers",  # as `sohbet serve`: app/proxy.py reads X-Forwarded-For, not uvicorn
                "--timeout-graceful-shutdown",
                "5",
            ],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self.stdout_path.open("ab"),
            stderr=self.stderr_path.open("ab"),
        )

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.stderr_path.read_text()[-4000:]}")
            try:
                return httpx.get(self.url + "/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=timeout, message=f"{self.url} to be ready")
        return self

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def login_codes(self) -> list[str]:
        return [m.group(2) for m in CODE_RE.finditer(self.stdout())]


# -- browser-like HTTP clients -----------------------------------------------------------------------------


class Browser:
    """An httpx client with a cookie jar that reads the CSRF token from the pages it gets, like a browser."""

    def __init__(self, base_url: str, **kwargs) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10, **kwargs)
        self.csrf_token = ""

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **kwargs) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        match = CSRF_RE.search(response.text) if "text/html" in response.headers.get("content-type", "") else None
        if match:
            self.csrf_token = match.group(1)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, htmx: bool = False, **kwargs):
        if not self.csrf_token and csrf:
            self.get("/login" if path.startswith(("/login", "/admin", "/logout")) else "/")
        form = dict(data or {})
        if csrf:
            form["_csrf_token"] = self.csrf_token
        headers = dict(kwargs.pop("headers", {}) or {})
        if htmx:
            headers["HX-Request"] = "true"
        response = self.http.post(path, data=form, headers=headers, **kwargs)
        match = CSRF_RE.search(response.text) if "text/html" in response.headers.get("content-type", "") else None
        if match:
            self.csrf_token = match.group(1)
        return response


def start_visitor(server_url: str, name: str = "Ayşe") -> Browser:
    visitor = Browser(server_url)
    visitor.get("/")
    response = visitor.post("/chat/start", {"display_name": name})
    assert response.status_code == 303, response.text
    return visitor


def login_admin(
    server: Server,
    browser: Browser | None = None,
    codes: Callable[[], list[str]] | None = None,
    *,
    username: str = "admin",
    password: str = ADMIN_PASSWORD,
) -> Browser:
    """Log in through the forms; the code comes from the console, or from `codes()` (e.g. a fake Telegram)."""
    admin = browser or Browser(server.url)
    codes = codes or server.login_codes
    admin.get("/login")
    before = len(codes())
    response = admin.post("/login", {"username": username, "password": password})
    assert response.status_code == 200, response.text
    code = wait_until(lambda: codes()[before:], message="a login code")[-1]
    response = admin.post("/login/verify", {"code": code})
    assert response.status_code == 303 and response.headers["location"] == "/admin", response.text
    return admin


def find_thread(admin: Browser, name: str) -> int:
    """The id of the conversation whose display name is `name`, from the admin's thread list."""
    page = admin.get("/admin").text
    for match in re.finditer(r'<li id="thread-(\d+)".*?<span class="name">(.*?)</span>', page, re.S):
        if match.group(2) == name:
            return int(match.group(1))
    raise AssertionError(f"no thread named {name}")


# -- server-sent events ------------------------------------------------------------------------------------


@dataclass
class SSEEvent:
    event: str
    data: str
    id: str | None


def iter_sse(response: httpx.Response) -> Iterator[SSEEvent]:
    """Parse a text/event-stream (comments skipped), yielding each dispatched event."""
    event, data, event_id = "message", [], None
    for line in response.iter_lines():
        if line == "":
            if data:
                yield SSEEvent(event, "\n".join(data), event_id)
            event, data, event_id = "message", [], None
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            event = value
        elif key == "data":
            data.append(value)
        elif key == "id":
            event_id = value


SEQ_RE = re.compile(r'data-seq="(\d+)"')
TEXT_RE = re.compile(r'<div class="msg-text">(.*?)</div>', re.S)


def message_seq(html: str) -> int:
    return int(SEQ_RE.search(html).group(1))


def message_text(html: str) -> str:
    return TEXT_RE.search(html).group(1)


# -- the `sohbet` command and direct SQL (CLI tests) -------------------------------------------------------


def sohbet(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m app.cli ARGS` as the operator would, with exactly this environment over the test's."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sql(url: str, query: str, *args: object) -> list[tuple]:
    """Rows of `query` (with ? placeholders) on a SQLite or PostgreSQL test database; [] when a SQLite file does
    not exist (it is never created here)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            return conn.execute(query, args).fetchall()
    counter = itertools.count(1)
    pg_query = re.sub(r"\?", lambda _: f"${next(counter)}", query)

    async def run() -> list[tuple]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(pg_query, *args)]
        finally:
            await conn.close()

    return run_coroutine(run)


def tables(url: str) -> set[str]:
    if url.startswith("sqlite:///"):
        return {row[0] for row in sql(url, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {row[0] for row in sql(url, "SELECT table_name FROM information_schema.tables WHERE table_schema='public'")}
