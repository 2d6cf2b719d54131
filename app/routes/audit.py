"""The audit log (SPEC §8): GET /admin/audit for owners, newest first, 50 a page (`?before=<id>`), filtered by
`?action=`."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.services import audit
from app.web import QueryId, owner_guard, page


@get("/admin/audit", guards=[owner_guard], include_in_schema=False)
async def audit_log(
    request: Request[Any, Any, Any], before: QueryId = None, action: FromQuery[str | None] = None
) -> Template:
    chosen = action if action in audit.ACTIONS else None
    rows = await audit.entries(before=before, action=chosen, limit=audit.PAGE_SIZE + 1)
    older = rows[audit.PAGE_SIZE - 1].id if len(rows) > audit.PAGE_SIZE else None
    return page(
        request,
        "admin/audit.html",
        entries=rows[: audit.PAGE_SIZE],
        actions=audit.ACTIONS,
        action=chosen or "",
        older=older,
    )


ROUTES = [audit_log]
