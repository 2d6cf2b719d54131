"""app/services/health.py in process: readiness follows the database; the report turns "degraded" for trouble
short of that (a queued file deletion here) and says what it saw. The HTTP side (who sees the details, 503s,
a database that goes away under a running server) is tests/server/test_health.py."""

from __future__ import annotations

import pytest

from app.clock import now
from app.models import FileDeletion
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("health"))
    yield settings
    drop_database(settings.database_url)


async def test_a_healthy_process_reports_ok(settings):
    async with running_services(settings) as s:
        ready = await s.health.ready()
        assert ready.healthy and ready.status == "ok" and ready.checks == {"database": "ok", "broker": "ok"}
        report = await s.health.report()
        assert report.healthy and report.status == "ok"
        assert report.checks["telegram"] == "not configured"
        assert report.checks["storage"] == {"backend": "local", "pending_deletions": 0}
        assert report.checks["streams"] == {"open": 0} and report.checks["disk"]["low"] is False


async def test_a_queued_file_deletion_degrades_the_report_but_not_readiness(settings):
    async with running_services(settings) as s:
        await FileDeletion.insert(FileDeletion(backend="local", storage_key="x" * 32 + ".png", next_try_at=now()))
        try:
            report = await s.health.report()
            assert report.healthy and report.status == "degraded"
            assert report.checks["storage"]["pending_deletions"] == 1
            assert (await s.health.ready()).status == "ok"
        finally:
            await FileDeletion.delete(force=True)
