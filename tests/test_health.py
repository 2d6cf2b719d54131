"""Health endpoints: liveness, readiness (503 while the database cannot answer), and the full report."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.support import wait_until


def test_health_report(server):
    body = httpx.get(server.url + "/health").json()
    assert body["status"] == "ok" and body["version"]
    checks = body["checks"]
    assert checks["database"] == "ok" and checks["broker"] == "ok"
    assert checks["storage"]["backend"] == "local" and checks["storage"]["pending_deletions"] == 0
    assert checks["disk"]["free_bytes"] > 0 and checks["memory"]["max_rss_bytes"] > 0
    assert checks["telegram"] == "not configured"
    assert httpx.get(server.url + "/health/live").json() == {"status": "ok"}
    assert httpx.get(server.url + "/health").headers["cache-control"] == "no-store"


def test_ready_is_503_while_the_database_cannot_answer(make_server, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL outages: tests/test_postgres.py restarts the database and waits for ready")
    server = make_server("ready")
    database = Path(server.env["DATABASE_URL"].removeprefix("sqlite:///"))
    assert httpx.get(server.url + "/health/ready").status_code == 200
    aside = database.with_suffix(".aside")
    os.replace(database, aside)  # the next connection finds an empty database: no tables
    try:
        wait_until(lambda: httpx.get(server.url + "/health/ready").status_code == 503, message="ready 503")
        report = httpx.get(server.url + "/health")
        assert report.status_code == 503 and report.json()["status"] == "unavailable"
    finally:
        os.replace(aside, database)
    wait_until(lambda: httpx.get(server.url + "/health/ready").status_code == 200, message="ready again")
