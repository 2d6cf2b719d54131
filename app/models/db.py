"""Database engines at run time: binding the tables, opening and closing, write transactions, migrations, and
telling an outage from a bug. `make_engine` (the one choice point for SQLite or PostgreSQL) lives in
app/models/engine.py, which Piccolo's configuration imports without this module."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import sys
from contextlib import AbstractAsyncContextManager
from typing import Any

from asyncpg.exceptions import (
    InsufficientResourcesError,
    InterfaceError,
    InternalClientError,
    OperatorInterventionError,
    PostgresConnectionError,
)
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from app.models.engine import make_engine
from app.models.sqlite import PooledSQLiteEngine

__all__ = [
    "bind_tables",
    "close_engine",
    "database_unavailable",
    "is_sqlite",
    "make_engine",
    "migrate",
    "migration_summary",
    "open_engine",
    "write_transaction",
]


# SQLite primary result codes (the low byte of the extended code) that say "not now", not "bad query": busy,
# locked, out of memory, read-only, I/O error, disk full, cannot open, lock protocol.
SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
POSTGRES_UNAVAILABLE = (PostgresConnectionError, OperatorInterventionError, InsufficientResourcesError, ConnectionError)


def database_unavailable(exc: BaseException | None) -> bool:
    """The database cannot answer or store anything just now (PostgreSQL down, restarting or out of connections,
    a connection lost, SQLite's disk full or its file locked): the client should try again later (503), unlike
    a failing query, which is a bug (500). Looks through the exception's causes too."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, POSTGRES_UNAVAILABLE):
            return True
        # What asyncpg raises when the server ends a connection mid-transaction (a shutdown): the protocol is left
        # "in another operation", the transaction finds "the underlying connection is closed".
        if isinstance(exc, InternalClientError) or (
            isinstance(exc, InterfaceError) and "connection is closed" in str(exc)
        ):
            return True
        if isinstance(exc, sqlite3.Error) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in SQLITE_UNAVAILABLE:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


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
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=pool_size)


async def close_engine(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close()


async def migrate(database_url: str) -> list[str]:
    """Run every pending migration; returns one line that says what the database is now, e.g. "up to date (10
    migrations)" or "10 migrations applied now (10 in all)".

    Piccolo's runner prints its own progress ("N migrations already complete" counts the known ones, applied or
    not, so a fresh database reads "7 already complete" then "7 not yet run"); it is kept from the console and
    let through only when a migration fails, for the diagnosis."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["PICCOLO_CONF"] = "app.models.piccolo_conf"
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    from app.models import piccolo_conf

    engine = make_engine(database_url, pooled=False)
    piccolo_conf.DB = engine
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    chatter = io.StringIO()
    try:
        before = set(await Migration.get_migrations_which_ran()) if await Migration.table_exists() else set()
        with contextlib.redirect_stdout(chatter):
            result = await run_forwards(app_name="all", migration_id="all", fake=False)
        after = set(await Migration.get_migrations_which_ran()) if result.success else set()
    except BaseException:
        sys.stdout.write(chatter.getvalue())
        raise
    finally:
        await close_engine(engine)
    if not result.success:
        sys.stdout.write(chatter.getvalue())
        raise RuntimeError(f"migrations failed: {result.message}")
    return [migration_summary(len(after - before), len(after))]


def migration_summary(applied_now: int, total: int) -> str:
    def count(n: int) -> str:
        return f"{n} migration{'' if n == 1 else 's'}"

    if applied_now == 0:
        return f"up to date ({count(total)})"
    return f"{count(applied_now)} applied now ({total} in all)"
