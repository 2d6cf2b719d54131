"""Faults, short versions of the published figures (SYSTEM_DOCS/06_RELIABILITY.md; the long ones are
`python -m benchmarks.faults`): the server SIGKILLed during a burst of posts, PostgreSQL stopped during a burst (a
private cluster, never the shared one), SQLite's disk full. Each must lose no acknowledged message, answer with
clear 503s rather than 500s or hangs, and come back without restarting Sohbet."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys

import asyncpg
import pytest
from litestar.stores.memory import MemoryStore

from app import create_app
from app.models.db import database_unavailable
from app.services.store import SweepingMemoryStore
from app.settings import Settings
from tests import faults
from tests.private_pg import PrivatePostgres, unavailable_reason
from tests.support import BACKEND, ROOT, Browser, free_port, login_admin, start_visitor

# Every answer during a fault is a 303 (stored), a 503 (not stored, try again) or, while the process is being
# killed, no answer at all; never a 500 and never slower than this.
ANSWER_BOUND_SECONDS = 5.0


def assert_clear_503s(errors: list[faults.Answer]) -> None:
    """Refusals say what happened in the form the client asked for: JSON for JSON, a page for a browser."""
    assert errors, "the fault produced no refusal at all"
    for answer in errors:
        assert answer.status == 503, f"{answer.text}: {answer.status} {answer.body[:300]}"
        assert answer.retry_after == "5"
        if answer.content_type.startswith("application/json"):
            body = json.loads(answer.body)
            assert body["success"] is False and body["code"] == "unavailable" and body["status"] == 503
            assert "cannot reach its database" in body["error"]
        else:
            assert answer.content_type.startswith("text/html")
            assert 'data-status="503"' in answer.body and "cannot reach its database" in answer.body
    assert any(a.content_type.startswith("application/json") for a in errors)
    assert any(a.content_type.startswith("text/html") for a in errors)


def test_sigkill_during_a_burst_keeps_every_acknowledged_message_once(tmp_path):
    """Both databases (this run's). Two SIGKILLs mid-burst, each followed by a start on the same database."""
    result = faults.sigkill_during_burst(tmp_path, BACKEND, kills=2, burst_seconds=1.0)
    check = result["check"]
    print(f"\n[fault sigkill {BACKEND}] {result['posts']} posts ({faults.status_text(result['statuses'])}); {check}")
    assert check.acknowledged > 40  # at least 20 after each restart
    assert check.ok, check
    assert set(result["statuses"]) <= {303, 0}, result["statuses"]  # killed: no answer; otherwise stored


@pytest.mark.postgres
@pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL outage: runs with SOHBET_TEST_DB=postgres")
@pytest.mark.skipif(unavailable_reason() is not None, reason=f"no private PostgreSQL: {unavailable_reason()}")
def test_postgresql_stopped_during_a_burst_gives_503s_and_comes_back(tmp_path):
    result = faults.postgres_outage_during_burst(tmp_path, outage_seconds=4.0, rate=40)
    check = result["check"]
    print(
        f"\n[fault postgres outage {result['outage_seconds']:.0f} s] during: {faults.status_text(result['during'])}; "
        f"slowest answer {result['slowest_seconds']:.2f} s; acknowledged again {result['back_after_seconds']:.2f} s "
        f"after PostgreSQL was back; {check}"
    )
    assert_clear_503s(result["errors"])
    assert result["slowest_seconds"] < ANSWER_BOUND_SECONDS
    assert result["during"][503] > 10
    assert result["same_process"] and result["ready_after"] == 200  # no restart of Sohbet
    assert result["back_after_seconds"] < 10
    assert set(result["after"]) == {303}, result["after"]
    assert check.ok, check


@pytest.mark.postgres
@pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL outage: runs with SOHBET_TEST_DB=postgres")
@pytest.mark.skipif(unavailable_reason() is not None, reason=f"no private PostgreSQL: {unavailable_reason()}")
def test_every_kind_of_request_is_a_quick_503_while_postgresql_is_down(tmp_path):
    """Pages, htmx fragments, event streams, the JSON API, guards and the login form: each reads the database
    somewhere (a cookie's conversation, an admin session), and each must answer 503 at once, in its own form."""
    with PrivatePostgres() as pg, faults.sohbet_server(tmp_path, database_url=pg.create_database()) as server:
        visitor, admin, newcomer = start_visitor(server.url, "Down"), login_admin(server), Browser(server.url)
        newcomer.get("/")
        json_headers = {"Accept": "application/json", "x-csrftoken": admin.http.cookies.get("csrftoken")}
        pg.stop()
        answers = {
            "visitor page": visitor.get("/"),
            "visitor page, htmx": visitor.http.get("/", headers={"HX-Request": "true"}),
            "visitor stream": visitor.http.get("/chat/events"),
            "visitor post, htmx": visitor.post("/chat/messages", {"text": "x"}, htmx=True),
            "start a chat": newcomer.post("/chat/start", {"display_name": "New"}),
            "dashboard": admin.get("/admin"),
            "admin stream": admin.http.get("/admin/events"),
            "API list": admin.http.get("/api/threads", headers=json_headers),
            "API send": admin.http.post("/api/messages/send", json={"thread_id": 1, "text": "x"}, headers=json_headers),
            "login": Browser(server.url).post("/login", {"username": "admin", "password": "wrong"}),
        }
        pg.start()
        assert visitor.post("/chat/messages", {"text": "back"}).status_code == 303
    for name, response in answers.items():
        assert response.status_code == 503, f"{name}: {response.status_code} {response.text[:300]}"
        assert response.elapsed.total_seconds() < ANSWER_BOUND_SECONDS, name
        assert "cannot reach its database" in response.text, name
        expected = "application/json" if name.startswith("API") else "text/html"
        assert response.headers["content-type"].startswith(expected), name


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's disk: runs with SOHBET_TEST_DB=sqlite")
def test_sqlite_disk_full_gives_503s_without_corruption_and_comes_back(tmp_path):
    reason = faults.small_filesystem_unavailable()  # mounts and unmounts a 1 MB tmpfs: only when it will run
    if reason:
        pytest.skip(reason)
    result = faults.sqlite_disk_full(tmp_path, size_mb=8, posts_when_full=60)
    check = result["check"]
    print(
        f"\n[fault sqlite disk full] while full: {faults.status_text(result['while_full'])}; integrity "
        f"{result['integrity']}; acknowledged again {result['back_after_seconds']:.2f} s after space returned; {check}"
    )
    assert_clear_503s(result["errors"])
    assert result["slowest_seconds"] < ANSWER_BOUND_SECONDS
    assert result["integrity_while_full"] == "ok" and result["integrity"] == "ok"
    assert result["same_process"] and result["ready_after"] == 200
    assert result["back_after_seconds"] < 10
    assert set(result["after"]) == {303}, result["after"]
    assert check.ok, check


def test_which_database_errors_mean_try_again_later(tmp_path):
    """The classification behind the 503s, on errors the drivers really raise (and what asyncpg raised when a
    PostgreSQL shutdown cut a transaction: seen as 500s in the long outage run before they were listed)."""
    path = tmp_path / "locked.sqlite3"
    holder, waiter = sqlite3.connect(path), sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        waiter.execute("SELECT * FROM nowhere")
    holder.rollback()
    with pytest.raises(OSError) as refused:
        asyncio.run(asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", timeout=5))
    try:
        raise RuntimeError("wrapped") from asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation")
    except RuntimeError as error:
        wrapped = error
    unavailable = [
        locked.value,
        refused.value,
        wrapped,
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
        asyncpg.exceptions.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"),
    ]
    bugs = [
        no_table.value,
        asyncpg.exceptions.UndefinedTableError('relation "nowhere" does not exist'),
        asyncpg.exceptions.DataError("invalid input for query argument $1"),
        asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress"),
        ValueError("a bug"),
    ]
    assert [database_unavailable(e) for e in unavailable] == [True] * len(unavailable)
    assert [database_unavailable(e) for e in bugs] == [False] * len(bugs)


def test_rate_limit_entries_of_visitors_who_left_are_swept_from_memory(tmp_path):
    """Memory flat (the soak): on SQLite the rate limits count in memory, one entry per visitor and per client
    address. Litestar's MemoryStore drops an expired entry only when the same key is read again — never, for a
    visitor who left — so the entries piled up for as long as the process ran."""
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}"})
    app = create_app(settings)
    for name in ("rl-messages", "rl-start", "rl-login", "rl-api", "rl-uploads"):
        store = app.stores.get(name)
        assert isinstance(store, SweepingMemoryStore) and store.sweep_seconds <= 60, name

    async def left_behind(store: MemoryStore) -> int:
        for visitor in range(500):
            await store.set(f"visitor:{visitor}", b"[1.0]", expires_in=1)
        await asyncio.sleep(1.2)  # every entry has expired, and a sweep is due
        await store.set("visitor:new", b"[2.0]", expires_in=60)
        return len(store._store) - 1

    assert asyncio.run(left_behind(MemoryStore())) == 500  # Litestar's own: all still there
    assert asyncio.run(left_behind(SweepingMemoryStore(sweep_seconds=1))) == 0


@pytest.mark.skipif(BACKEND != "sqlite", reason="the soak instrument is checked once, in the SQLite pass")
def test_the_soak_benchmark_still_runs(tmp_path):
    """`python -m benchmarks.faults --only soak` for 15 s: every kind of client worked and RSS was sampled (the
    slope of so short a run means nothing; the published one is 10 minutes)."""
    report_path = tmp_path / "faults.json"
    command = [sys.executable, "-m", "benchmarks.faults", "--only", "soak", "--soak-minutes", "0.25"]
    done = subprocess.run(
        [*command, "--json", str(report_path)], cwd=ROOT, capture_output=True, text=True, timeout=150, check=False
    )
    report = json.loads(report_path.read_text())
    assert not report["errors"], done.stderr[-3000:]
    soak = report["details"]["soak"]
    assert soak["requests"] > 50 and soak["visitors"] >= 10 and soak["stream_events"] > 0, soak
    assert set(soak["statuses"]) <= {"200", "303", "stream 200"}, soak["statuses"]
    assert len(soak["samples"]) >= 2 and soak["server_alive"] and soak["ready_after"] == 200
    # The tail slope is what tells caches filling (it levels off) from a leak (it keeps climbing).
    assert "rss_slope_last_5min_kb_per_min" in soak and soak["rss_slope_kb_per_min_by_2min"], soak.keys()
    assert "| soak 0.25 min" in done.stdout
