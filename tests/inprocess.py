"""A fresh, migrated database opened in the test process itself (no server), for tests that call services
directly. SQLite or PostgreSQL, from SOHBET_TEST_DB like every other test."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from app.models.db import bind_tables, close_engine, make_engine, migrate, open_engine
from tests.support import ROOT, create_database, drop_database

MIGRATIONS = ROOT / "app" / "models" / "migrations"


@asynccontextmanager
async def migrated_engine(tmp_path: Path) -> AsyncIterator[Any]:
    """As `sohbet migrate` does it (app.models.db.migrate), then every table bound to a pooled engine."""
    url = create_database(tmp_path)
    saved = {name: os.environ.get(name) for name in ("DATABASE_URL", "PICCOLO_CONF")}
    # A migration module's own tables keep the engine of the first run in this process: imported afresh, they
    # find this database's.
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(MIGRATIONS)):
            del sys.modules[name]
    try:
        await migrate(url)
    finally:
        for name, value in saved.items():  # migrate() sets them for Piccolo; the rest of the run must not see them
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    engine = make_engine(url)
    bind_tables(engine)
    await open_engine(engine, pool_size=4)
    try:
        yield engine
    finally:
        await close_engine(engine)
        drop_database(url)
