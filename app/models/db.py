"""Database engines: one choice point for SQLite or PostgreSQL, write transactions, migrations."""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from app.models.sqlite import PooledSQLiteEngine
from app.private_files import private_dir, touch_private


def make_engine(database_url: str, *, pooled: bool = True) -> Engine:
    """An SQLite engine for `sqlite:///path` (long-lived connections unless `pooled` is False: Piccolo's stock
    engine, for migrations and the piccolo CLI), PostgresEngine for `postgres(ql)://...`."""
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        private_dir(path.parent)
        touch_private(path)  # before SQLite creates it 0644 (its -wal and -shm files copy the database's mode)
        if pooled:
            return PooledSQLiteEngine(path=str(path), timeout=30)
        return SQLiteEngine(path=str(path), timeout=30)
    return PostgresEngine(config={"dsn": database_url}, log_queries=False)


def is_sqlite(engine: Engine) -> bool:
    return isinstance(engine, SQLiteEngine)


def bind_tables(engine: Engine) -> None:
    """Point every table (ours and Piccolo's migration table) at `engine`."""
    from piccolo.apps.migrations.tables import Migration

    from app.models import ALL_TABLES

    for table in (*ALL_TABLES, Migration):
        table._meta.db = engine


def write_transaction(engine: Engine) -> AbstractAsyncContextManager[Any]:
    """A transaction for read-then-write work.

    SQLite: IMMEDIATE, so the write lock is taken up front; a DEFERRED read-then-write fails with
    "database is locked" under concurrency instead of waiting for the lock.
    """
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def open_engine(engine: Engine, *, pool_size: int = 10) -> None:
    if isinstance(engine, SQLiteEngine):
        # WAL is persistent in the file (synchronous=NORMAL is set per connection, see app.models.sqlite).
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")
    else:
        await engine.start_connection_pool(min_size=1, max_size=pool_size)


async def close_engine(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close()


async def migrate(database_url: str) -> list[str]:
    """Run every pending migration; returns the log lines Piccolo printed."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["PICCOLO_CONF"] = "app.models.piccolo_conf"
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from app.models import piccolo_conf

    engine = make_engine(database_url, pooled=False)
    piccolo_conf.DB = engine
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    try:
        result = await run_forwards(app_name="all", migration_id="all", fake=False)
    finally:
        await close_engine(engine)
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
    return [result.message or "ok"]
