"""Who is asking: the app's services for a request, the admin session guard, the client's address."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from app.services.auth import AdminIdentity
from app.web.cookies import ADMIN_COOKIE
from app.wiring import Services


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    return connection.app.state.services


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admin routes: a live server-side session or NotAuthorized (→ /login, HX-Redirect or JSON 401)."""
    identity = await services_of(connection).auth.session_identity(connection.cookies.get(ADMIN_COOKIE))
    if identity is None:
        raise NotAuthorizedException("login required")
    connection.state.admin = identity


async def require_owner(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Workspace-wide settings (/admin/settings): the workspace owner only. The one place that decides it; until
    agents have roles (issue 14), every admin is the owner."""
    await admin_guard(connection, handler)


def current_admin(request: Request[Any, Any, Any]) -> AdminIdentity:
    return request.state.admin


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address, as app/proxy.py resolved it from a trusted proxy's X-Forwarded-For."""
    return connection.client.host if connection.client else "unknown"
