"""How this process and what it depends on are doing, as plain data: readiness (the database answers) for load
balancers and platform probes, and the full report an operator reads. Who may see the details is the web layer's
business (app/routes/health.py)."""

from __future__ import annotations

import asyncio
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models import Conversation, FileDeletion
from app.models.sqlite import PooledSQLiteEngine
from app.services.mail import MailOutbox
from app.services.realtime import Broker, Hub
from app.services.telegram import TelegramBridge
from app.setting_values import MAIL_LINKS_MISSING

LOW_DISK_BYTES = 200 * 1024 * 1024
DATABASE_CHECK_SECONDS = 3.0  # a database host that drops packets must not hang the probe (asyncpg waits 60 s)


@dataclass(frozen=True, slots=True)
class HealthReport:
    healthy: bool  # the database answers: false means 503
    status: str  # ok | degraded | unavailable
    checks: dict[str, Any]


async def database_ok() -> tuple[bool, str]:
    engine = Conversation._meta.db
    if isinstance(engine, PooledSQLiteEngine) and not engine.file_is_current():
        return False, "error: the database file was moved or replaced"
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            await Conversation.count()
        return True, "ok"
    except Exception as exc:  # any driver error means "not ready"
        return False, f"error: {type(exc).__name__}"


class Health:
    def __init__(
        self,
        broker: Broker,
        hub: Hub,
        telegram: TelegramBridge | None,
        storage_backend: str,
        data_dir: Path,
        mail: MailOutbox | None = None,
        *,
        public_url: str = "",
    ) -> None:
        self.mail = mail
        self.public_url = public_url  # links in mail start with it: mail without it gets a warning
        self.broker = broker
        self.hub = hub
        self.telegram = telegram
        self.storage_backend = storage_backend
        self.data_dir = data_dir

    def _broker(self) -> str:
        return "ok" if self.broker.connected else "reconnecting"

    async def ready(self) -> HealthReport:
        healthy, database = await database_ok()
        checks = {"database": database, "broker": self._broker()}
        return HealthReport(healthy, "ok" if healthy else "unavailable", checks)

    async def report(self) -> HealthReport:
        """Everything an operator looks at first; "degraded" for trouble short of the database being down."""
        healthy, database = await database_ok()
        checks: dict[str, Any] = {"database": database, "broker": self._broker(), "telegram": "not configured"}
        if self.telegram is not None:
            checks["telegram"] = (
                await self.telegram.health() if healthy else {"status": "unknown", "mode": self.telegram.mode}
            )
        mail: dict[str, Any] | str = "not configured"
        if self.mail is not None and self.mail.configured:
            mail = await self.mail.health() if healthy else {"status": "unknown"}
            if not self.public_url and isinstance(mail, dict):
                mail["warning"] = MAIL_LINKS_MISSING
        checks["mail"] = mail
        mail_failing = isinstance(mail, dict) and mail["status"] == "failing"
        pending_deletions = await FileDeletion.count() if healthy else None
        checks["storage"] = {"backend": self.storage_backend, "pending_deletions": pending_deletions}
        usage = shutil.disk_usage(self.data_dir if self.data_dir.exists() else "/")
        checks["disk"] = {"free_bytes": usage.free, "total_bytes": usage.total, "low": usage.free < LOW_DISK_BYTES}
        checks["memory"] = {"max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
        checks["streams"] = {"open": self.hub.stream_total()}
        telegram = checks["telegram"]
        telegram_failing = isinstance(telegram, dict) and telegram["status"] in ("backlog", "error")
        degraded = not self.broker.connected or checks["disk"]["low"] or bool(pending_deletions) or telegram_failing
        degraded = degraded or mail_failing
        return HealthReport(healthy, "unavailable" if not healthy else ("degraded" if degraded else "ok"), checks)
