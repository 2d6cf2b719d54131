"""Which Piccolo engine a DATABASE_URL means. Apart from app/models/db.py so that app/models/piccolo_conf.py (which
Piccolo's tooling imports on its own) can build its engine without importing the module that runs migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

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
