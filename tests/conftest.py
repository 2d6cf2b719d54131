"""Fixtures for every test folder: a fresh database (SQLite or PostgreSQL, from SOHBET_TEST_DB) migrated in this
process for service tests (`database`), and real servers with databases of their own (`make_server`, `server`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx._transports.default
import pytest
from piccolo.engine.base import Engine

from tests.inprocess import fresh_database
from tests.support import BACKEND, Server, base_env, drop_database, migrated_database

# Every httpx client builds a TLS context of its own (~60 ms: it loads the CA bundle), though the tests speak plain
# HTTP on loopback: the suite makes thousands of clients. One context, made once, serves every default client.
_default_tls = httpx.create_ssl_context()
_create_tls = httpx._transports.default.create_ssl_context


def _shared_tls(verify: object = True, cert: object = None, trust_env: bool = True) -> object:
    if verify is True and cert is None and trust_env:
        return _default_tls
    return _create_tls(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[arg-type]


httpx._transports.default.create_ssl_context = _shared_tls  # type: ignore[assignment]


@pytest.fixture(scope="session")
def backend() -> str:
    return BACKEND


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Engine]:
    """A fresh, migrated database with every table bound to its open engine (yielded), for calling services."""
    async with fresh_database(tmp_path) as engine:
        yield engine


@pytest.fixture(scope="module")
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Start servers with `make_server(**env_overrides)`; each call gets a fresh, migrated database unless
    `DATABASE_URL` (and then also `ENCRYPTION_KEYS`) is given to share one."""
    servers: list[Server] = []
    databases: list[str] = []

    def make(name: str = "server", **overrides: str) -> Server:
        tmp = tmp_path_factory.mktemp(name)
        url = overrides.get("DATABASE_URL") or migrated_database(tmp)
        env = {**base_env(tmp, url), **overrides}
        if "DATABASE_URL" not in overrides:
            databases.append(url)
        server = Server(env=env, log_dir=Path(tmp), name=name)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
    for url in databases:
        drop_database(url)


@pytest.fixture(scope="module")
def server(make_server: Callable[..., Server]) -> Server:
    return make_server()
