"""Database layer: migrations on both databases, WAL on SQLite, the (conversation, seq) guarantee."""

from __future__ import annotations

import ast
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from tests.support import ROOT, base_env, create_database, drop_database, migrate, start_visitor


def run_sql(url: str, sql: str):
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return db.execute(sql).fetchall()

    async def go():
        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(go())


def test_migrations_apply_once_and_are_idempotent(tmp_path):
    url = create_database(tmp_path)
    try:
        env = base_env(tmp_path, url)
        migrate(url, env)
        migrate(url, env)  # a second run changes nothing and does not fail
        applied = run_sql(url, "SELECT name FROM migration ORDER BY id")
        migration_files = list((ROOT / "app" / "models" / "migrations").glob("sohbet_*.py"))
        assert len(applied) == len(migration_files) >= 3
        again = subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**env, "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert again.returncode == 0
    finally:
        drop_database(url)


def test_duplicate_sequence_number_is_refused_by_the_database(server):
    visitor = start_visitor(server.url, "Unique")
    visitor.post("/chat/messages", {"text": "one"})
    url = server.env["DATABASE_URL"]
    conversation, seq = run_sql(url, "SELECT conversation, seq FROM message ORDER BY id DESC LIMIT 1")[0]
    error = sqlite3.IntegrityError if url.startswith("sqlite") else asyncpg.UniqueViolationError
    with pytest.raises(error):
        run_sql(
            url,
            "INSERT INTO message (conversation, seq, sender, body, created_at) "
            f"VALUES ({conversation}, {seq}, 'admin', 'x', CURRENT_TIMESTAMP)",
        )


def test_sqlite_runs_in_wal_mode(server, backend):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    assert run_sql(server.env["DATABASE_URL"], "PRAGMA journal_mode") == [("wal",)]


def test_concurrent_writers_get_gap_free_sequence_numbers(server):
    visitor = start_visitor(server.url, "Concurrent")

    def post(index: int) -> int:
        return visitor.http.post(
            "/chat/messages", data={"text": f"c{index}", "_csrf_token": visitor.csrf_token}
        ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(80)))
    assert statuses == [303] * 80  # no "database is locked", no lost write
    url = server.env["DATABASE_URL"]
    rows = run_sql(
        url,
        "SELECT m.seq FROM message m JOIN conversation c ON c.id = m.conversation "
        "WHERE c.display_name = 'Concurrent' ORDER BY m.seq",
    )
    assert [r[0] for r in rows] == list(range(1, 81))


# -- the server's SQLite engine (app/models/sqlite.py) -----------------------------------------------------------


def test_pooled_sqlite_engine_serialises_writers_and_survives_cancellation(tmp_path):
    from piccolo.engine.sqlite import TransactionType
    from piccolo.querystring import QueryString

    from app.models.sqlite import PooledSQLiteEngine

    async def scenario() -> None:
        engine = PooledSQLiteEngine(path=str(tmp_path / "pool.sqlite3"), timeout=30)
        sql = engine.run_querystring
        try:
            await engine._run_in_new_connection("PRAGMA journal_mode=WAL")
            await sql(QueryString("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
            await sql(QueryString("INSERT INTO counter (id, n) VALUES (1, 0)"))

            async def increment() -> None:  # read, yield to the others, then write: lost updates without the lock
                async with engine.transaction(TransactionType.immediate):
                    [row] = await sql(QueryString("SELECT n FROM counter WHERE id = 1"))
                    await asyncio.sleep(0)
                    await sql(QueryString("UPDATE counter SET n = {} WHERE id = 1", row["n"] + 1))

            await asyncio.gather(*(increment() for _ in range(50)))
            assert await sql(QueryString("SELECT n FROM counter")) == [{"n": 50}]

            # A transaction cancelled half-way leaves nothing behind: its write is undone, the lock is free.
            entered = asyncio.Event()

            async def interrupted() -> None:
                async with engine.transaction():
                    await sql(QueryString("UPDATE counter SET n = 999 WHERE id = 1"))
                    entered.set()
                    await asyncio.sleep(10)

            task = asyncio.create_task(interrupted())
            await entered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(increment(), timeout=5)
            assert await sql(QueryString("SELECT n FROM counter")) == [{"n": 51}]
            # Readers see every commit at once (WAL), outside any transaction.
            await sql(QueryString("UPDATE counter SET n = 7 WHERE id = 1"))
            assert (
                await asyncio.gather(*(sql(QueryString("SELECT n FROM counter")) for _ in range(5))) == [[{"n": 7}]] * 5
            )
            assert engine.file_is_current()
            (tmp_path / "pool.sqlite3").rename(tmp_path / "moved.sqlite3")
            assert not engine.file_is_current()  # what /health/ready reports as not ready
        finally:
            await engine.close()

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def test_the_tables_match_the_migrations(tmp_path):
    """Piccolo's own diff of the tables against what the migrations build finds nothing: a later
    `piccolo migrations new sohbet --auto` adds only what that later change adds (run on a copy of the package)."""
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "piccolo_conf.py", tmp_path / "piccolo_conf.py")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'diff.sqlite3'}", "DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "new", "sohbet", "--auto"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "No changes detected" in done.stdout, done.stdout[-3000:]


def _app_imports(module: str) -> set[str]:
    """The app.* modules `module` imports anywhere in its source (at the top or inside functions)."""
    path = ROOT / module.replace(".", "/")
    source = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("app.") and _is_module(name)}


def _is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").is_file()


def test_piccolo_conf_does_not_import_the_module_that_imports_it():
    """app/models/db.py imports the Piccolo configuration (to run migrations); the configuration builds its engine
    without reaching back into db.py (no import cycle)."""
    seen: set[str] = set()
    todo = ["app.models.piccolo_conf"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_app_imports(module))
    assert "app.models.engine" in seen
    assert "app.models.db" not in seen
    assert "app.models.piccolo_conf" in _app_imports("app.models.db")
