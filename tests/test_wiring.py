"""The app's wiring (app/wiring.py): building the services has no side effects, the workers start in order and
stop in reverse (also when one fails to start), and building the app leaves logging alone. In-process, SQLite."""

from __future__ import annotations

import ast
import asyncio
import logging
from pathlib import Path

import pytest
from litestar.testing import TestClient

from app import create_app
from app.models import ALL_TABLES, Conversation
from app.services.background import BackgroundWorker
from app.settings import Settings
from app.wiring import Database, Services, build_services, open_services, run_workers
from tests.support import base_env, create_database, migrate


def sqlite_settings(tmp_path: Path, *, migrated: bool = False) -> Settings:
    env = base_env(tmp_path, create_database(tmp_path, "sqlite"))
    if migrated:
        migrate(env["DATABASE_URL"], env)
    return Settings.from_env(env)


def logging_state() -> list[tuple[str, list[logging.Handler], int, bool]]:
    names = ["", "sohbet", "httpx", "httpcore"]
    return [
        (name, list(logging.getLogger(name).handlers), logging.getLogger(name).level, logging.getLogger(name).propagate)
        for name in names
    ]


def table_bindings() -> list[object]:
    return [table._meta.db for table in ALL_TABLES]


def test_building_the_services_twice_changes_nothing_outside_them(tmp_path):
    bound, logs = table_bindings(), logging_state()
    first = build_services(sqlite_settings(tmp_path / "one"))
    second = build_services(sqlite_settings(tmp_path / "two"))
    assert table_bindings() == bound  # Piccolo's tables still point where they did
    assert logging_state() == logs
    assert first.engine is not second.engine and first.hub is not second.hub
    assert Path(first.engine.path).parent == tmp_path / "one"
    for services in (first, second):
        assert isinstance(services, Services)
        assert all(isinstance(worker, BackgroundWorker) for worker in services.workers)
        assert services.workers[0] is services.database  # opened first, closed last
        assert services.presence._task is None  # nothing started


def test_every_worker_is_in_the_list_in_start_order(tmp_path):
    services = build_services(sqlite_settings(tmp_path))
    s = services
    assert s.workers == [
        s.database,
        s.agents,
        s.broker,
        s.brand.workspace,
        s.presence,
        s.attachments,
        s.retention,
        s.housekeeping,
        s.snoozes,
        s.blocks,
    ]
    assert s.telegram is None


class Recorder:
    def __init__(self, name: str, log: list[str], *, fails: bool = False) -> None:
        self.name, self.log, self.fails = name, log, fails

    async def start(self) -> None:
        if self.fails:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_workers_start_in_order_and_stop_in_reverse():
    log: list[str] = []

    async def run() -> None:
        async with run_workers([Recorder("a", log), Recorder("b", log), Recorder("c", log)]):
            log.append("running")

    asyncio.run(run())
    assert log == ["start a", "start b", "start c", "running", "stop c", "stop b", "stop a"]


def test_a_worker_that_fails_to_start_stops_the_ones_already_started():
    log: list[str] = []

    async def run() -> None:
        workers = [Recorder("a", log), Recorder("b", log), Recorder("c", log, fails=True), Recorder("d", log)]
        async with run_workers(workers):
            log.append("running")

    with pytest.raises(RuntimeError, match="c cannot start"):
        asyncio.run(run())
    assert log == ["start a", "start b", "stop b", "stop a"]


def test_workers_stop_when_the_block_fails():
    log: list[str] = []

    async def run() -> None:
        async with run_workers([Recorder("a", log), Recorder("b", log)]):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        asyncio.run(run())
    assert log == ["start a", "start b", "stop b", "stop a"]


def test_building_the_app_leaves_our_logging_and_the_tables_alone(tmp_path):
    bound = table_bindings()
    ours = logging.getLogger("sohbet")
    before = (list(ours.handlers), ours.level, ours.propagate)
    app = create_app(sqlite_settings(tmp_path))
    assert (list(ours.handlers), ours.level, ours.propagate) == before
    assert table_bindings() == bound
    assert app.state.assets is app.state.services.assets


def test_open_services_without_workers_opens_only_the_database(tmp_path):
    async def run(settings: Settings) -> tuple[int, bool, bool]:
        async with open_services(settings, workers=False) as services:
            assert Conversation._meta.db is services.engine
            count = await Conversation.count()
            return count, services.presence._task is None, services.housekeeping._task is None

    assert asyncio.run(run(sqlite_settings(tmp_path, migrated=True))) == (0, True, True)


def test_the_app_lifespan_runs_the_workers_and_stops_them(tmp_path):
    app = create_app(sqlite_settings(tmp_path, migrated=True))
    services: Services = app.state.services
    with TestClient(app) as client:
        assert Conversation._meta.db is services.engine
        assert services.presence._task is not None
        assert client.get("/health/ready").status_code == 200
    assert services.presence._task is None and services.housekeeping._task is None


def web_imports(path: Path) -> list[str]:
    """The web-layer modules `path` imports (anywhere in it, functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in found if name.startswith(("app.web", "app.routes", "app.create_app", "app.wiring"))]


def test_the_database_worker_is_the_engine(tmp_path):
    services = build_services(sqlite_settings(tmp_path))
    assert isinstance(services.database, Database) and services.database.engine is services.engine
