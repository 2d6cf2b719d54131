"""In-process service tests: a migrated temporary database (SQLite, or PostgreSQL with SOHBET_TEST_DB=postgres)
and the real services on it, without a server."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from app import make_jinja
from app.models.db import bind_tables, close_engine, make_engine, migrate, open_engine
from app.services.auth import AuthService, ConsoleCodeSender, hash_password
from app.services.conversations import ConversationService
from app.services.crypto import Cipher
from app.services.metrics import Metrics
from app.services.presence import PresenceTracker
from app.services.realtime import Hub, MemoryBroker
from app.services.streams import Fragments, StreamServices
from tests.support import ROOT, create_database, drop_database, run_coroutine

SECRET = "s" * 40
MIGRATIONS = ROOT / "app" / "models" / "migrations"


def migrated_database(tmp_path: Path) -> str:
    """A new database with every migration applied, in this process (what `sohbet migrate` does)."""
    url = create_database(tmp_path)
    saved = {key: os.environ.get(key) for key in ("DATABASE_URL", "PICCOLO_CONF")}
    # A migration module binds its raw-SQL table to the engine of the first migration run in this process: import
    # them again, so this run's raw statements reach this database.
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").parent == MIGRATIONS:
            del sys.modules[name]
    try:
        run_coroutine(lambda: migrate(url))
    finally:  # migrate() points the environment at this database: leave it as it was for other tests
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return url


def remove_database(url: str) -> None:
    drop_database(url)


@dataclass
class Services:
    hub: Hub
    broker: MemoryBroker
    conversations: ConversationService
    presence: PresenceTracker
    auth: AuthService
    metrics: Metrics

    def streams(self, ping_seconds: float = 30.0) -> StreamServices:
        return StreamServices(
            conversations=self.conversations,
            presence=self.presence,
            hub=self.hub,
            metrics=self.metrics,
            auth=self.auth,
            fragments=Fragments(make_jinja()),
            ping_seconds=ping_seconds,
        )


@asynccontextmanager
async def services(url: str) -> AsyncIterator[Services]:
    """The services on `url`, wired as create_app() wires them (one process: the in-memory broker)."""
    engine = make_engine(url)
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    hub = Hub()
    broker = MemoryBroker(hub)
    metrics = Metrics()
    cipher = Cipher((Fernet.generate_key().decode(),))
    try:
        yield Services(
            hub=hub,
            broker=broker,
            conversations=ConversationService(engine, cipher, broker, metrics=metrics),
            presence=PresenceTracker(broker, 30.0),
            auth=AuthService(
                username="admin",
                password_hash=hash_password("correct-horse-battery-staple"),
                secret_key=SECRET,
                code_sender=ConsoleCodeSender(enabled=True),
                code_seconds=300,
                idle_seconds=3600,
                absolute_seconds=86400,
                broker=broker,
                lockout_seconds=900,
            ),
            metrics=metrics,
        )
    finally:
        await close_engine(engine)
