"""Fast in-process service tests: a fresh database migrated in this process (no `sohbet migrate` subprocess, no
server), with every Piccolo table bound to its engine, so a rule in app/services/ is tested by calling it."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine

from app.models import ALL_TABLES, migrations
from app.models.db import bind_tables, close_engine, make_engine, migrate, open_engine
from tests.support import create_database, drop_database

MIGRATION_ENV = ("DATABASE_URL", "PICCOLO_CONF")  # app.models.db.migrate sets these for Piccolo's tooling
# Piccolo imports each migration by its bare file name (it puts the folder on sys.path).
MIGRATION_MODULES = {path.stem for path in Path(migrations.__file__).parent.glob("*.py") if path.stem != "__init__"}


async def migrate_in_process(url: str) -> None:
    """`sohbet migrate` without the subprocess; the environment variables it sets are put back afterwards."""
    saved = {name: os.environ.get(name) for name in MIGRATION_ENV}
    # A raw migration's table finds its engine once, when its module is imported: imported again, it finds this
    # database (the first one migrated in this process otherwise, even on SQLite, silently).
    for name in MIGRATION_MODULES:
        sys.modules.pop(name, None)
    try:
        await migrate(url)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@asynccontextmanager
async def fresh_database(tmp_path: Path) -> AsyncIterator[Engine]:
    """A new, migrated database (SQLite in `tmp_path`, or PostgreSQL when SOHBET_TEST_DB=postgres) with the tables
    bound to its open engine; afterwards the engine is closed, the tables bound back and the database dropped."""
    url = create_database(tmp_path)
    tables = (*ALL_TABLES, Migration)
    bound_before = [table._meta.db for table in tables]
    try:
        await migrate_in_process(url)
        engine = make_engine(url)
        bind_tables(engine)
        await open_engine(engine, pool_size=4)
        try:
            yield engine
        finally:
            await close_engine(engine)
    finally:
        for table, engine_before in zip(tables, bound_before, strict=True):
            table._meta.db = engine_before
        drop_database(url)
