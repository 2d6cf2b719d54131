"""Health endpoints: liveness, readiness (503 while the database cannot answer), and the full report."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.support import can_control_postgres, pg_accepts_connections, pg_ctl, wait_until


def ready_status(server) -> int:
    """/health/ready's status code; 0 when the server does not answer within 5 s."""
    try:
        return httpx.get(server.url + "/health/ready", timeout=5).status_code
    except httpx.HTTPError:
        return 0


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
        pytest.skip("SQLite only: the PostgreSQL outage is test_ready_is_503_while_postgresql_is_down")
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


@pytest.mark.skipif(not can_control_postgres(), reason="stopping the local PostgreSQL needs pg_ctlcluster and root")
def test_ready_is_503_while_postgresql_is_down(make_server, backend):
    if backend != "postgres":
        pytest.skip("PostgreSQL only: the SQLite outage is test_ready_is_503_while_the_database_cannot_answer")
    server = make_server("ready-pg")
    assert ready_status(server) == 200
    try:
        pg_ctl("stop")
        assert not pg_accepts_connections()
        wait_until(lambda: ready_status(server) == 503, timeout=20, interval=0.1, message="ready 503 while down")
        body = httpx.get(server.url + "/health/ready", timeout=5).json()
        assert body["status"] == "unavailable" and body["checks"]["database"].startswith("error")
        report = httpx.get(server.url + "/health", timeout=10)
        assert report.status_code == 503 and report.json()["status"] == "unavailable"
        assert httpx.get(server.url + "/health/live").status_code == 200  # the process itself is fine
    finally:
        pg_ctl("start")  # always, or every later test on this PostgreSQL fails
        wait_until(pg_accepts_connections, timeout=30, interval=0.1, message="PostgreSQL to accept connections")
    wait_until(lambda: ready_status(server) == 200, timeout=30, interval=0.1, message="ready 200 once it is back")
    assert httpx.get(server.url + "/health", timeout=10).json()["checks"]["database"] == "ok"
