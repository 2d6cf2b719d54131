"""Who is asking: the app's services for a request, the admin session guard, the client's address."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
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


async def owner_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Owner-only routes (managing the team): a live session (as admin_guard) of an owner, else 403."""
    await admin_guard(connection, handler)
    if not connection.state.admin.is_owner:
        raise PermissionDeniedException("owners only")


def current_admin(request: Request[Any, Any, Any]) -> AdminIdentity:
    return request.state.admin


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address, as app/proxy.py resolved it from a trusted proxy's X-Forwarded-For."""
    return connection.client.host if connection.client else "unknown"


def acting(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The signed-in agent and their address as service keywords (`actor`, `ip`) for the audit log."""
    return {"actor": current_admin(request).username, "ip": client_ip(request)}
