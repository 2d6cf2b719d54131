"""`sohbet serve` as an operator runs it, for the tests of what it configures (proxy headers, limits, timeouts)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, base_env, create_database, drop_database, free_port, migrate, wait_until


class Served:
    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def sohbet_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Served]]:
    """`sohbet serve ARGS` as an operator runs it, with env overrides."""
    started: list[tuple[subprocess.Popen, str]] = []

    def serve(*args: str, **overrides: str) -> Served:
        tmp: Path = tmp_path_factory.mktemp("serve")
        url = create_database(tmp)
        env = {**base_env(tmp, url), **overrides}
        migrate(url, env)
        port = free_port()
        command = [sys.executable, "-m", "app.cli", "serve", "--no-migrate", "--port", str(port), *args]
        err = tmp / "serve.err"
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=(tmp / "serve.out").open("ab"), stderr=err.open("ab")
        )
        started.append((process, url))
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert process.poll() is None, err.read_text()[-3000:]
            try:
                return httpx.get(base + "/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=30, message="sohbet serve to be ready")
        return Served(process, base, err)

    yield serve
    for process, url in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drop_database(url)
