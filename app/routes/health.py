"""Health checks: liveness (the process answers), readiness (the database answers), and a full report."""

from __future__ import annotations

import resource
import shutil
from typing import Any

from litestar import Request, Response, get

from app.models import Conversation, FileDeletion
from app.version import VERSION
from app.web import sohbet

LOW_DISK_BYTES = 200 * 1024 * 1024


async def database_ok() -> tuple[bool, str]:
    try:
        await Conversation.count()
        return True, "ok"
    except Exception as exc:  # any driver error means "not ready"
        return False, f"error: {type(exc).__name__}"


@get("/health/live", include_in_schema=False)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    app = sohbet(request)
    healthy, database = await database_ok()
    checks = {"database": database, "broker": "ok" if app.broker.connected else "reconnecting"}
    return Response(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status_code=200 if healthy else 503
    )


@get("/health", include_in_schema=False)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Everything an operator looks at first. 503 when the database is down; "degraded" for lesser trouble."""
    app = sohbet(request)
    settings = app.settings
    healthy, database = await database_ok()
    checks: dict[str, Any] = {"database": database}
    checks["broker"] = "ok" if app.broker.connected else "reconnecting"
    checks["telegram"] = "not configured"
    if app.telegram_outbox is not None:
        backlog = await app.telegram_outbox.backlog() if healthy else {}
        checks["telegram"] = {"status": "backlog" if backlog.get("failing") else "ok", **backlog}
    pending_deletions = await FileDeletion.count() if healthy else None
    storage: dict[str, Any] = {"backend": app.attachments.storage.backend, "pending_deletions": pending_deletions}
    checks["storage"] = storage
    usage = shutil.disk_usage(settings.data_dir if settings.data_dir.exists() else "/")
    checks["disk"] = {"free_bytes": usage.free, "total_bytes": usage.total, "low": usage.free < LOW_DISK_BYTES}
    checks["memory"] = {"max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    checks["streams"] = {"open": app.hub.stream_total()}
    telegram_failing = isinstance(checks["telegram"], dict) and checks["telegram"]["status"] == "backlog"
    degraded = not app.broker.connected or checks["disk"]["low"] or bool(pending_deletions) or telegram_failing
    status = "unavailable" if not healthy else ("degraded" if degraded else "ok")
    return Response(
        {"status": status, "version": VERSION, "environment": settings.environment, "checks": checks},
        status_code=200 if healthy else 503,
    )


ROUTES = [live, ready, health]
