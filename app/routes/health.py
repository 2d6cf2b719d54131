"""Operations: liveness (the process answers), readiness (the database answers), a full report, and metrics.

`/health/live` and `/health/ready` are public (load balancers, platform probes). `GET /health` tells anyone its
`status` (200 `ok`/`degraded`, 503 `unavailable`: enough for a load balancer); its details (version, disk,
memory, streams, Telegram, storage) only to a loopback client, `Authorization: Bearer <METRICS_TOKEN>` or an
admin session. `GET /metrics` (Prometheus text, see app/services/metrics.py) is open in development; in
production it answers a loopback client or the bearer token, and anyone else gets the JSON 404 of any unknown
path, so the endpoint's existence is not advertised. "Loopback" is the client address app/proxy.py resolved:
a public request relayed by a trusted same-host proxy is *not* loopback.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import resource
import shutil
from typing import Any

from litestar import Request, Response, get

from app.i18n import translator
from app.models import Conversation, FileDeletion
from app.models.sqlite import PooledSQLiteEngine
from app.services.metrics import CONTENT_TYPE
from app.settings import Settings
from app.version import VERSION
from app.web import ADMIN_COOKIE, client_ip, language, services_of

LOW_DISK_BYTES = 200 * 1024 * 1024
DATABASE_CHECK_SECONDS = 3.0  # a database host that drops packets must not hang the probe (asyncpg waits 60 s)


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


@get("/health/live", include_in_schema=False)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    services = services_of(request)
    healthy, database = await database_ok()
    checks = {"database": database, "broker": "ok" if services.broker.connected else "reconnecting"}
    return Response(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status_code=200 if healthy else 503
    )


@get("/health", include_in_schema=False)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Everything an operator looks at first. 503 when the database is down; "degraded" for lesser trouble."""
    services = services_of(request)
    settings = services.settings
    healthy, database = await database_ok()
    checks: dict[str, Any] = {"database": database}
    checks["broker"] = "ok" if services.broker.connected else "reconnecting"
    checks["telegram"] = "not configured"
    if services.telegram is not None:
        checks["telegram"] = (
            await services.telegram.health() if healthy else {"status": "unknown", "mode": services.telegram.mode}
        )
    pending_deletions = await FileDeletion.count() if healthy else None
    storage: dict[str, Any] = {"backend": services.attachments.storage.backend, "pending_deletions": pending_deletions}
    checks["storage"] = storage
    usage = shutil.disk_usage(settings.data_dir if settings.data_dir.exists() else "/")
    checks["disk"] = {"free_bytes": usage.free, "total_bytes": usage.total, "low": usage.free < LOW_DISK_BYTES}
    checks["memory"] = {"max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    checks["streams"] = {"open": services.hub.stream_total()}
    telegram_failing = isinstance(checks["telegram"], dict) and checks["telegram"]["status"] in ("backlog", "error")
    degraded = not services.broker.connected or checks["disk"]["low"] or bool(pending_deletions) or telegram_failing
    status = "unavailable" if not healthy else ("degraded" if degraded else "ok")
    body: dict[str, Any] = {"status": status}
    if await operator(request, settings):
        body.update(version=VERSION, environment=settings.environment, checks=checks)
    return Response(body, status_code=200 if healthy else 503)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # "unknown", a unix socket path
        return False


def metrics_allowed(request: Request[Any, Any, Any], settings: Settings) -> bool:
    return not settings.is_production or is_loopback(client_ip(request)) or has_token(request, settings)


async def operator(request: Request[Any, Any, Any], settings: Settings) -> bool:
    """A loopback client, the METRICS_TOKEN bearer, or a live admin session."""
    if is_loopback(client_ip(request)) or has_token(request, settings):
        return True
    return await services_of(request).auth.session_identity(request.cookies.get(ADMIN_COOKIE)) is not None


def has_token(request: Request[Any, Any, Any], settings: Settings) -> bool:
    expected = settings.metrics_token.encode()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    if not metrics_allowed(request, services.settings):
        message = translator(language(request))("error.not_found")
        body = {"success": False, "error": message, "code": "not_found", "status": 404}
        return Response(body, status_code=404, media_type="application/json")
    return Response(services.metrics.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


ROUTES = [live, ready, health, metrics]
