"""The audit log (SPEC §8), owners only: GET /admin/audit (the page) and GET /api/audit (the same as JSON), newest
first, 50 a page (`?before=<id>`), filtered by `?action=`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.routes._common import COMMON_ERRORS, errors
from app.services import audit
from app.web import QueryId, owner_guard, page

ActionFilter = FromQuery[str | None]


async def _page(before: int | None, action: str | None) -> tuple[list[audit.AuditEntry], str, int | None]:
    chosen = action if action in audit.ACTIONS else ""
    rows = await audit.entries(before=before, action=chosen or None, limit=audit.PAGE_SIZE + 1)
    older = rows[audit.PAGE_SIZE - 1].id if len(rows) > audit.PAGE_SIZE else None
    return rows[: audit.PAGE_SIZE], chosen, older


@get("/admin/audit", guards=[owner_guard], include_in_schema=False)
async def audit_log(request: Request[Any, Any, Any], before: QueryId = None, action: ActionFilter = None) -> Template:
    entries, chosen, older = await _page(before, action)
    return page(request, "admin/audit.html", entries=entries, actions=audit.ACTIONS, action=chosen, older=older)


@dataclass
class AuditOut:
    id: int
    time: float  # epoch seconds
    actor: str
    ip: str
    action: str
    target: str
    details: dict[str, Any]


@dataclass
class AuditResponse:
    success: bool
    events: list[AuditOut]
    next_before: int | None  # pass as `before` for the older page; null on the last page


@get("/api/audit", guards=[owner_guard], tags=["team"], responses=errors(*COMMON_ERRORS))
async def api_audit(before: QueryId = None, action: ActionFilter = None) -> AuditResponse:
    """(Owners) the audit log, newest first, 50 a page: logins, failed logins, team changes, clears, settings
    changes. `action` keeps one action; an unknown one is ignored."""
    entries, _, older = await _page(before, action)
    events = [AuditOut(e.id, e.created_at, e.actor, e.ip, e.action, e.target, e.details) for e in entries]
    return AuditResponse(success=True, events=events, next_before=older)


ROUTES = [audit_log]
API_ROUTES = [api_audit]
