"""A visitor's own data (SPEC §11): GET /chat/export downloads it as a zip (app/services/exports.py), by the
visitor's cookie only."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import PermissionDeniedException

from app.routes._common import visitor_conversation
from app.web import services_of


@get("/chat/export", include_in_schema=False)
async def export(request: Request[Any, Any, Any]) -> Response[bytes]:
    conversation = await visitor_conversation(request)
    if conversation is None:
        raise PermissionDeniedException("no conversation")
    found = await services_of(request).exports.for_visitor(conversation)
    disposition = f'attachment; filename="{found.file_name}"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return Response(found.data, media_type="application/zip", headers=headers)


ROUTES = [export]
