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

import hmac
import ipaddress
from typing import Any

from litestar import Request, Response, get

from app.i18n import translator
from app.services.metrics import CONTENT_TYPE
from app.settings import Settings
from app.version import VERSION
from app.web import ADMIN_COOKIE, client_ip, language, services_of


@get("/health/live", include_in_schema=False)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    report = await services_of(request).health.ready()
    return Response({"status": report.status, "checks": report.checks}, status_code=200 if report.healthy else 503)


@get("/health", include_in_schema=False)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Everything an operator looks at first. 503 when the database is down; "degraded" for lesser trouble."""
    services = services_of(request)
    report = await services.health.report()
    body: dict[str, Any] = {"status": report.status}
    if await operator(request, services.settings):
        body.update(version=VERSION, environment=services.settings.environment, checks=report.checks)
    return Response(body, status_code=200 if report.healthy else 503)


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
