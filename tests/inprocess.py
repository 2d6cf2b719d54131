"""Fast in-process service tests: a fresh database migrated in this process (no `sohbet migrate` subprocess, no
server), with every Piccolo table bound to its engine, so a rule in app/services/ is tested by calling it — on its
own (`fresh_database`) or with the app's services as app/wiring.py builds them (`migrated_settings` +
`running_services`)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine

from app.models import ALL_TABLES, migrations
from app.models.db import bind_tables, close_engine, make_engine, migrate, open_engine
from app.settings import Settings
from app.wiring import Services, open_services, run_workers
from tests.support import base_env, drop_database, migrated_database

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
    url = migrated_database(tmp_path)
    try:
        with bindings_kept():
            engine = make_engine(url)
            bind_tables(engine)
            await open_engine(engine, pool_size=4)
            try:
                yield engine
            finally:
                await close_engine(engine)
    finally:
        drop_database(url)


@contextmanager
def bindings_kept() -> Iterator[None]:
    """Piccolo's tables are bound back to the engines they had (the next test may have bound them elsewhere)."""
    tables = (*ALL_TABLES, Migration)
    bound_before = [table._meta.db for table in tables]
    try:
        yield
    finally:
        for table, engine_before in zip(tables, bound_before, strict=True):
            table._meta.db = engine_before


def migrated_settings(tmp_path: Path, **env: str) -> Settings:
    """A new database migrated in this process, and a development server's settings on it (tests.support.base_env,
    overridden by `env`). Drop it with `drop_database(settings.database_url)`."""
    url = migrated_database(tmp_path)
    return Settings.from_env({**base_env(tmp_path, url), **env})


@asynccontextmanager
async def running_services(settings: Settings, *, workers: bool = False) -> AsyncIterator[Services]:
    """The app's services for `settings` as app/wiring.py builds them, the database open and the broker listening
    (PostgreSQL's LISTEN connection: events reach the hub as in a server) — with `workers`, every background worker
    running too (presence heartbeat, retention, Telegram...)."""
    with bindings_kept():
        async with open_services(settings, workers=workers) as services:
            if workers:
                yield services
            else:
                # The first owner (from ADMIN_USERNAME) exists before anything serves, as in a server.
                async with run_workers([services.agents, services.broker]):
                    yield services
