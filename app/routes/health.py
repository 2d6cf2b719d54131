"""Health checks: liveness (the process answers) and readiness (the database answers)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from app.models import Conversation
from app.web import sohbet


@get("/health/live", include_in_schema=False)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    app = sohbet(request)
    checks: dict[str, str] = {}
    try:
        await Conversation.count()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        checks["database"] = f"error: {type(exc).__name__}"
    checks["broker"] = "ok" if app.broker.connected else "reconnecting"
    healthy = checks["database"] == "ok"
    return Response(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status_code=200 if healthy else 503
    )


ROUTES = [live, ready]
