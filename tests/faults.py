"""Fault scenarios shared by tests/server/test_faults.py (short, in CI) and benchmarks/faults.py (long, published).

Each scenario runs real uvicorn servers on loopback, drives them with posting visitors that record every answer
(303 = acknowledged), injects one fault — SIGKILL of the server, PostgreSQL stopped, SQLite's disk full — and
then reads the database itself: every acknowledged message must be stored exactly once, in an unbroken sequence.
A scenario returns its measurements as a dict; the callers assert on them (tests) or print them (benchmarks).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.services.crypto import Cipher
from tests.private_pg import PrivatePostgres
from tests.support import (
    Browser,
    Server,
    base_env,
    create_database,
    drop_database,
    migrate,
    sql,
    start_visitor,
    wait_until,
)

REQUEST_TIMEOUT = 15.0  # a request not answered within this is a hang (recorded as status -1)


# -- posting visitors that record every answer -------------------------------------------------------------


@dataclass
class Answer:
    text: str
    status: int  # HTTP status; 0 = no answer (connection refused or reset); -1 = timed out
    seconds: float
    started: float  # time.monotonic() when sent
    content_type: str = ""
    body: str = ""
    retry_after: str | None = None


@dataclass
class Burst:
    """Visitors, each posting its own numbered messages one after another (`rate` per second in all, or as fast
    as the server answers), until stopped. Every answer is kept; nothing is retried with the same text."""

    base_url: str
    visitors: int = 4
    rate: float | None = None
    json_every: int = 3  # every n-th post asks for JSON (the API client's view of an error)
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    clients: list[Browser] = field(default_factory=list)

    def start(self) -> Burst:
        for index in range(self.visitors):
            client = start_visitor(self.base_url, f"Burst {index}")
            client.http.timeout = httpx.Timeout(REQUEST_TIMEOUT)
            self.clients.append(client)
        for index, client in enumerate(self.clients):
            thread = threading.Thread(target=self._post_loop, args=(index, client), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _post_loop(self, index: int, client: Browser) -> None:
        interval = self.visitors / self.rate if self.rate else 0.0
        number = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            number += 1
            text = f"v{index}-m{number}"
            wants_json = number % self.json_every == 0
            headers = {"Accept": "application/json"} if wants_json else {}
            started = time.monotonic()
            try:
                response = client.post("/chat/messages", {"text": text}, headers=headers)
                status = response.status_code
                content_type = response.headers.get("content-type", "")
                body = response.text[:2000] if status >= 400 else ""
                retry_after = response.headers.get("retry-after")
            except httpx.TimeoutException:
                status, content_type, body, retry_after = -1, "", "", None
            except httpx.TransportError:
                status, content_type, body, retry_after = 0, "", "", None
            seconds = time.monotonic() - started
            with self._lock:
                self.answers.append(Answer(text, status, seconds, started, content_type, body, retry_after))
            if status in (0, -1):
                self._stop.wait(0.05)  # the server is not there: do not spin
            if interval:
                next_at += interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def wait_for(self, count: int, timeout: float = 30) -> None:
        wait_until(lambda: len(self.answers) >= count, timeout=timeout, message=f"{count} answers")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT + 5)
        for client in self.clients:
            client.close()

    # -- what the answers say --

    def acknowledged(self) -> set[str]:
        return {a.text for a in self.answers if a.status == 303}

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[int]:
        return Counter(a.status for a in self.answers if since <= a.started < until)

    def slowest(self, since: float = 0.0, until: float = float("inf")) -> float:
        return max((a.seconds for a in self.answers if since <= a.started < until), default=0.0)


def status_text(counts: Counter[int]) -> str:
    names = {0: "no answer", -1: "timed out"}
    return ", ".join(f"{names.get(code, code)}: {n}" for code, n in sorted(counts.items()))


# -- what the database holds -------------------------------------------------------------------------------


def stored_messages(url: str, encryption_keys: str) -> dict[int, list[tuple[int, str]]]:
    """Every message as (seq, text), per conversation, read from the database and decrypted."""
    cipher = Cipher(tuple(k for k in encryption_keys.split(",") if k))
    found: dict[int, list[tuple[int, str]]] = {}
    for conversation, seq, body in sql(url, "SELECT conversation, seq, body FROM message ORDER BY conversation, seq"):
        found.setdefault(conversation, []).append((seq, cipher.decrypt(body)))
    return found


@dataclass
class Check:
    acknowledged: int
    stored: int
    lost: list[str]  # acknowledged, not stored
    duplicated: list[str]  # stored more than once
    unacknowledged_stored: int  # stored although the client never got the answer (in flight at the fault)
    sequence_gaps: int  # conversations whose seq is not 1..n

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated and not self.sequence_gaps


def check_messages(url: str, encryption_keys: str, burst: Burst) -> Check:
    found = stored_messages(url, encryption_keys)
    counts = Counter(text for rows in found.values() for _, text in rows)
    acked = burst.acknowledged()
    gaps = sum(1 for rows in found.values() if [seq for seq, _ in rows] != list(range(1, len(rows) + 1)))
    return Check(
        acknowledged=len(acked),
        stored=sum(counts.values()),
        lost=sorted(acked - set(counts)),
        duplicated=sorted(text for text, n in counts.items() if n > 1),
        unacknowledged_stored=len(set(counts) - acked),
        sequence_gaps=gaps,
    )


# -- servers -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def sohbet_server(tmp: Path, database_url: str | None = None, backend: str = "sqlite", **env: str) -> Iterator[Server]:
    """A migrated database (fresh on `backend` unless given) and one started server; both cleaned up after."""
    url = database_url or create_database(tmp, backend)
    full_env = {**base_env(tmp, url), **env}
    server = Server(env=full_env, log_dir=tmp, name="fault")
    try:
        migrate(url, full_env)
        server.start()
        yield server
    finally:
        server.stop()
        if database_url is None:
            drop_database(url)


# -- scenario 1: SIGKILL during a burst --------------------------------------------------------------------


def sigkill_during_burst(tmp: Path, backend: str, *, kills: int = 1, burst_seconds: float = 2.0) -> dict:
    """Posting visitors; the server is SIGKILLed `kills` times mid-burst and started again on the same database
    and port. Afterwards the database must hold every acknowledged message exactly once."""
    with sohbet_server(tmp, backend=backend) as server:
        burst = Burst(server.url, visitors=4).start()
        downtime = []
        try:
            for _ in range(kills):
                before = len(burst.answers)
                burst.wait_for(before + 20)
                time.sleep(burst_seconds)
                server.kill()  # SIGKILL: no shutdown, no flush, whatever was in flight is cut
                killed = time.monotonic()
                server.start()
                downtime.append(time.monotonic() - killed)
                after = len(burst.answers)
                burst.wait_for(after + 20)  # posts are acknowledged again after the restart
        finally:
            burst.stop()
        check = check_messages(server.env["DATABASE_URL"], server.env["ENCRYPTION_KEYS"], burst)
        return {
            "backend": backend,
            "kills": kills,
            "posts": len(burst.answers),
            "statuses": burst.statuses(),
            "restart_seconds": max(downtime),
            "check": check,
        }


# -- scenario 2: PostgreSQL stopped during a burst ---------------------------------------------------------


def postgres_outage_during_burst(tmp: Path, *, outage_seconds: float = 4.0, rate: float = 40.0) -> dict:
    """A private cluster (never the shared one) stopped for `outage_seconds` while visitors post at `rate`/s.
    Measures: the answers during the outage, the slowest answer, and how long after PostgreSQL is back the
    first post is acknowledged again — all without restarting Sohbet."""
    with PrivatePostgres() as pg:
        url = pg.create_database()
        with sohbet_server(tmp, database_url=url) as server:
            burst = Burst(server.url, visitors=4, rate=rate).start()
            try:
                burst.wait_for(40)
                stopped = time.monotonic()
                pg.stop()
                time.sleep(outage_seconds)
                pg.start()
                restarted = time.monotonic()
                wait_until(
                    lambda: any(a.status == 303 for a in burst.answers if a.started >= restarted),
                    timeout=60,
                    message="a post acknowledged after PostgreSQL is back",
                )
                back = min(a.started + a.seconds for a in burst.answers if a.started >= restarted and a.status == 303)
                time.sleep(2)  # and it stays back
                during = burst.statuses(stopped, restarted)
                after = burst.statuses(back)
                slowest = burst.slowest()
                errors = [a for a in burst.answers if a.started >= stopped and a.status not in (303,)]
            finally:
                burst.stop()
            ready = httpx.get(server.url + "/health/ready", timeout=5).status_code
            alive = server.process is not None and server.process.poll() is None
            check = check_messages(url, server.env["ENCRYPTION_KEYS"], burst)
    return {
        "outage_seconds": outage_seconds,
        "posts": len(burst.answers),
        "during": during,
        "after": after,
        "slowest_seconds": slowest,
        "back_after_seconds": back - restarted,
        "ready_after": ready,
        "same_process": alive,
        "error_samples": errors[:3],
        "errors": errors,
        "check": check,
    }


# -- scenario 3: SQLite's disk full ------------------------------------------------------------------------


def mount_small_filesystem(path: Path, size_mb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True, timeout=30)


def small_filesystem_unavailable() -> str | None:
    """Why a small filesystem cannot be mounted here (not root, no mount), or None."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs for the database needs root"
    probe = Path(f"/tmp/sohbet-mount-probe-{os.getpid()}")
    try:
        mount_small_filesystem(probe, 1)
    except (subprocess.SubprocessError, OSError) as error:
        return f"cannot mount a tmpfs here ({type(error).__name__})"
    finally:
        unmount(probe)
        with contextlib.suppress(OSError):
            probe.rmdir()
    return None


def fill(directory: Path, name: str = "filler") -> Path:
    """Write zeros until the filesystem refuses (ENOSPC), down to the last block; returns the filler file."""
    filler = directory / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, chunk)
    finally:
        os.close(fd)
    return filler


def sqlite_disk_full(tmp: Path, *, size_mb: int = 8, posts_when_full: int = 60) -> dict:
    """The database on a `size_mb` tmpfs; visitors post; the filesystem is filled. Measures the answers while
    full, `PRAGMA integrity_check`, and whether posts are acknowledged again once the filler is deleted."""
    mount = tmp / "small-fs"
    mount_small_filesystem(mount, size_mb)
    try:
        url = f"sqlite:///{mount / 'sohbet.sqlite3'}"
        with sohbet_server(tmp, database_url=url) as server:
            burst = Burst(server.url, visitors=4, rate=40).start()
            try:
                burst.wait_for(40)
                full_at = time.monotonic()
                filler = fill(mount)
                wait_until(
                    lambda: len([a for a in burst.answers if a.started >= full_at]) >= posts_when_full,
                    timeout=60,
                    message="posts while the disk is full",
                )
                freed_at = time.monotonic()
                while_full = burst.statuses(full_at, freed_at)
                integrity_full = sql(url, "PRAGMA integrity_check")[0][0]
                filler.unlink()
                wait_until(
                    lambda: any(a.status == 303 for a in burst.answers if a.started >= freed_at),
                    timeout=30,
                    message="a post acknowledged once space returns",
                )
                back = min(a.started + a.seconds for a in burst.answers if a.started >= freed_at and a.status == 303)
                time.sleep(1)
                after = burst.statuses(back)
                slowest = burst.slowest()
                errors = [a for a in burst.answers if a.started >= full_at and a.status != 303]
            finally:
                burst.stop()
            alive = server.process is not None and server.process.poll() is None
            ready = httpx.get(server.url + "/health/ready", timeout=5).status_code
        integrity = sql(url, "PRAGMA integrity_check")[0][0]
        check = check_messages(url, server.env["ENCRYPTION_KEYS"], burst)
    finally:
        unmount(mount)
    return {
        "size_mb": size_mb,
        "posts": len(burst.answers),
        "while_full": while_full,
        "after": after,
        "slowest_seconds": slowest,
        "back_after_seconds": back - freed_at,
        "integrity_while_full": integrity_full,
        "integrity": integrity,
        "ready_after": ready,
        "same_process": alive,
        "errors": errors,
        "check": check,
    }
