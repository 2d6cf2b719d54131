"""A private PostgreSQL cluster that a test (or a benchmark) may stop and start at will.

The shared cluster on 127.0.0.1:5432 serves every other test running on this machine; stopping it to watch
Sohbet ride out an outage would break them. This initdb's a throw-away cluster into a temporary directory, on a
free loopback port, with trust authentication, and drives it with pg_ctl. As root, every PostgreSQL command runs
as the `postgres` user (initdb and postgres refuse to run as root); as anyone else, as that user.

    with PrivatePostgres() as pg:        # initdb + start (about 2 s)
        url = pg.create_database()
        pg.stop()                        # fast shutdown: clients are disconnected, nothing committed is lost
        pg.start()
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from tests.support import free_port


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl, or the directory of one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here, or None when it can."""
    if postgres_bin() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no `postgres` user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root without runuser(1) to switch to the postgres user"
    return None


class PrivatePostgres:
    """One throw-away cluster: `start()` (initdb on first use), `stop()`, `create_database()`, `destroy()`."""

    def __init__(self, port: int | None = None) -> None:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.bin = postgres_bin()
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sohbet-private-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    # -- commands --

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root)
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed ({done.returncode}): {done.stderr[-2000:]}\n{tail}")
        return done

    def _initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",  # not /var/run/postgresql: the shared cluster's
            "max_connections": "60",
            "shared_buffers": "32MB",
            "logging_collector": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# sohbet private test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self, timeout: float = 60) -> PrivatePostgres:
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)), "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` (what a service manager does): open sessions are ended, committed work is kept."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        argv = [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, check=False, timeout=30).returncode == 0

    def accepts_connections(self) -> bool:
        argv = [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"]
        return subprocess.run(argv, check=False, timeout=10).returncode == 0

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.SubprocessError):
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases --

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str | None = None) -> str:
        name = name or f"sohbet_fault_{secrets.token_hex(4)}"

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_dsn)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return self.url(name)

    def __enter__(self) -> PrivatePostgres:
        started = time.monotonic()
        try:
            self.start()
        except BaseException:
            self.destroy()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()
