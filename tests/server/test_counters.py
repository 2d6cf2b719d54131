"""Shared counters (app/services/counters.py) and the rate limits built on them: an increment is one atomic
statement, so concurrent increments from several processes and connections are all counted, and a rate limit
lets exactly its number of requests through across every server process (PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter

import httpx
import pytest

from tests.support import ROOT, base_env, create_database, drop_database, migrate, sql

INCREMENTS = """
import asyncio, json, os, sys
from app.models.db import bind_tables, close_engine, make_engine, open_engine
from app.services import counters

async def main():
    engine = make_engine(os.environ["DATABASE_URL"])
    bind_tables(engine)
    await open_engine(engine, pool_size=5)
    try:
        states = await asyncio.gather(*(counters.increment("race", 600) for _ in range(int(sys.argv[1]))))
    finally:
        await close_engine(engine)
    print(json.dumps([state.count for state in states]))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("counters")
    url = create_database(tmp)
    env = base_env(tmp, url)
    migrate(url, env)
    yield url, env
    drop_database(url)


def test_concurrent_increments_from_several_processes_are_exact(database):
    url, env = database
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INCREMENTS, "60"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    seen: list[int] = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        seen += json.loads(out)
    # Every increment got its own count: none lost, none counted twice.
    assert sorted(seen) == list(range(1, 241))
    assert sql(url, 'SELECT "count" FROM counter WHERE "key" = \'race\'') == [(240,)]


def test_rate_limit_is_exact_across_processes(make_server, backend):
    """40 requests a minute, 120 sent at once (to two servers on PostgreSQL, which share the count; SQLite runs
    one process with the count in memory): exactly 40 pass."""
    first = make_server("limit-a", RATE_LIMIT_API="40/minute")
    servers = [first]
    if backend == "postgres":
        shared = {key: first.env[key] for key in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS")}
        servers.append(make_server("limit-b", RATE_LIMIT_API="40/minute", **shared))

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=60)) as client:
            responses = await asyncio.gather(
                *(client.get(servers[index % len(servers)].url + "/api/threads") for index in range(120))
            )
        return [response.status_code for response in responses]

    statuses = Counter(asyncio.run(burst()))
    assert statuses == {401: 40, 429: 80}, statuses  # 401: counted, then refused for want of a session
    refused = httpx.get(first.url + "/api/threads")
    assert refused.status_code == 429 and int(refused.headers["ratelimit-remaining"]) == 0
    assert 0 < int(refused.headers["ratelimit-reset"]) <= 60


def test_expired_counters_are_purged(database):
    url, env = database
    script = """
import asyncio, os
from app.models.db import bind_tables, close_engine, make_engine, open_engine
from app.services import counters

async def main():
    engine = make_engine(os.environ["DATABASE_URL"])
    bind_tables(engine)
    await open_engine(engine, pool_size=1)
    try:
        await counters.increment("short", 0.2)
        await counters.increment("long", 600)
        await asyncio.sleep(0.5)
        print(await counters.purge_expired())
    finally:
        await close_engine(engine)

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) >= 1
    keys = {row[0] for row in sql(url, 'SELECT "key" FROM counter')}
    assert "short" not in keys and "long" in keys
