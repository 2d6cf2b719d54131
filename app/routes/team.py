"""The team (SPEC §8): the owner's page to invite, disable, enable, reset agents and change their roles; each
agent's own page (display name, password, authenticator app, Telegram account); the invite link where a new agent
sets a password."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.services.agents import Invite, TeamRefused
from app.services.telegram.accounts import LinkRefused
from app.web import (
    ADMIN_COOKIE,
    acting,
    admin_guard,
    client_ip,
    current_admin,
    expired_cookie,
    language,
    owner_guard,
    page,
    see_other,
    services_of,
)

Form = URLEncodedBody[dict[str, str]]


def invite_url(request: Request[Any, Any, Any], invite: Invite) -> str:
    """The link to hand the new agent: on PUBLIC_URL when it is set, else on the address this page was asked on."""
    base = services_of(request).settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}/invite/{invite.token}"


async def team_page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    agents = await services_of(request).agents.members()
    return page(request, "admin/team.html", status_code=status_code, agents=agents, **context)


async def refused_page(request: Request[Any, Any, Any], refused: TeamRefused, **context: Any) -> Template:
    error = translator(language(request))(refused.code)
    return await team_page(request, status_code=refused.status, error=error, **context)


@get("/admin/team")
async def team(request: Request[Any, Any, Any]) -> Template:
    return await team_page(request)


@post("/admin/team", status_code=200)
async def add_agent(request: Request[Any, Any, Any], data: Form) -> Template:
    """A new agent; the page shows their one-time invite link."""
    fields = {name: (data.get(name) or "")[:100] for name in ("username", "display_name", "role")}
    try:
        invite = await services_of(request).agents.create(
            fields["username"], fields["display_name"], fields["role"], **acting(request)
        )
    except TeamRefused as refused:
        return await refused_page(request, refused, form=fields)
    return await team_page(request, invite_for=invite.agent, invite_url=invite_url(request, invite))


@post("/admin/team/{username:str}/{action:str}", status_code=303)
async def change_agent(
    request: Request[Any, Any, Any], username: FromPath[str], action: FromPath[str], data: Form
) -> Response[Any] | Template:
    """`disable`, `enable`, `reset` (a new invite link, shown) or `role` (field `role`)."""
    agents, by = services_of(request).agents, acting(request)
    try:
        if action == "disable":
            await agents.disable(username, **by)
        elif action == "enable":
            await agents.enable(username, **by)
        elif action == "role":
            await agents.set_role(username, data.get("role") or "", **by)
        elif action == "reset":
            invite = await agents.reset(username, **by)
            return await team_page(request, invite_for=invite.agent, invite_url=invite_url(request, invite))
        else:
            raise TeamRefused(404, "team.unknown")
    except TeamRefused as refused:
        return await refused_page(request, refused)
    if username == current_admin(request).username and action in ("disable", "role"):
        return see_other("/login")  # their own session just ended
    return see_other("/admin/team")


# -- the agent's own settings --------------------------------------------------------------------------------


async def me_page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    services = services_of(request)
    agent = await services.agents.get(current_admin(request).username)
    telegram = services.telegram_accounts.configured
    return page(request, "admin/me.html", status_code=status_code, agent=agent, telegram_on=telegram, **context)


@get("/admin/me")
async def me(request: Request[Any, Any, Any]) -> Template:
    return await me_page(request)


@post("/admin/me", status_code=303)
async def rename(request: Request[Any, Any, Any], data: Form) -> Response[Any] | Template:
    try:
        await services_of(request).agents.rename(current_admin(request).username, data.get("display_name") or "")
    except TeamRefused as refused:
        return await me_page(request, refused.status, name_error=translator(language(request))(refused.code))
    return see_other("/admin/me")


@post("/admin/me/password", status_code=303)
async def change_password(request: Request[Any, Any, Any], data: Form) -> Response[Any] | Template:
    """Every session of the agent ends, this one too: they log in again with the new password."""
    services = services_of(request)
    current, new = data.get("current_password") or "", data.get("new_password") or ""
    try:
        await services.agents.change_password(current_admin(request).username, current, new, ip=client_ip(request))
    except TeamRefused as refused:
        return await me_page(request, refused.status, password_error=translator(language(request))(refused.code))
    return see_other("/login", cookies=[expired_cookie(services.settings, ADMIN_COOKIE)])


def totp_issuer(request: Request[Any, Any, Any]) -> str:
    """The name the authenticator app shows: the workspace's site name, else "Sohbet"."""
    return services_of(request).brand.current.site_name or translator(language(request))("app.name")


@post("/admin/me/totp", status_code=200)
async def totp_setup(request: Request[Any, Any, Any]) -> Template:
    """A new authenticator secret: the page shows it with its otpauth:// QR code (drawn here, inline SVG)."""
    services = services_of(request)
    try:
        setup = await services.agents.totp_begin(current_admin(request).username, totp_issuer(request))
    except TeamRefused as refused:
        return await me_page(request, refused.status, totp_error=translator(language(request))(refused.code))
    return await me_page(request, totp_setup=setup)


@post("/admin/me/totp/confirm", status_code=303)
async def totp_confirm(request: Request[Any, Any, Any], data: Form) -> Response[Any] | Template:
    """A wrong code: 422, the same set-up shown again."""
    agents, username = services_of(request).agents, current_admin(request).username
    try:
        await agents.totp_confirm(username, (data.get("code") or "")[:20])
    except TeamRefused as refused:
        setup = await agents.totp_pending(username, totp_issuer(request))
        error = translator(language(request))(refused.code)
        return await me_page(request, refused.status, totp_error=error, totp_setup=setup)
    return see_other("/admin/me")


@post("/admin/me/totp/disable", status_code=303)
async def totp_disable(request: Request[Any, Any, Any], data: Form) -> Response[Any] | Template:
    current = data.get("current_password") or ""
    try:
        await services_of(request).agents.totp_disable(current_admin(request).username, current)
    except TeamRefused as refused:
        return await me_page(request, refused.status, totp_error=translator(language(request))(refused.code))
    return see_other("/admin/me")


@post("/admin/me/telegram", status_code=200)
async def telegram_link(request: Request[Any, Any, Any]) -> Template:
    """A one-time `https://t.me/<bot>?start=<token>` link (an hour); opening it in Telegram links the account."""
    try:
        url = await services_of(request).telegram_accounts.new_link(current_admin(request).username)
    except LinkRefused as refused:
        return await me_page(request, refused.status, telegram_error=translator(language(request))(refused.code))
    return await me_page(request, telegram_url=url)


@post("/admin/me/telegram/unlink", status_code=303)
async def telegram_unlink(request: Request[Any, Any, Any]) -> Response[Any]:
    username = current_admin(request).username
    await services_of(request).telegram_accounts.unlink(username, ip=client_ip(request))
    return see_other("/admin/me")


# -- the invite link -----------------------------------------------------------------------------------------


@get("/invite/{token:str}", include_in_schema=False)
async def invite(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    try:
        agent = await services_of(request).agents.invited(token)
    except TeamRefused as refused:
        return page(request, "auth/invite.html", status_code=refused.status, gone=True)
    return page(request, "auth/invite.html", agent=agent, token=token)


@post("/invite/{token:str}", include_in_schema=False, status_code=200)
async def accept_invite(request: Request[Any, Any, Any], token: FromPath[str], data: Form) -> Template:
    agents = services_of(request).agents
    try:
        agent = await agents.accept_invite(token, data.get("password") or "", ip=client_ip(request))
    except TeamRefused as refused:
        if refused.status == 410:
            return page(request, "auth/invite.html", status_code=410, gone=True)
        error = translator(language(request))(refused.code)
        return page(request, "auth/invite.html", status_code=refused.status, token=token, error=error)
    setup = await agents.invite_totp_begin(agent.username, totp_issuer(request))
    return page(request, "auth/invite.html", agent=agent, done=True, token=token, totp_setup=setup)


@post("/invite/{token:str}/totp/confirm", include_in_schema=False, status_code=303)
async def invite_totp_confirm(
    request: Request[Any, Any, Any], token: FromPath[str], data: Form
) -> Response[Any] | Template:
    """No session: the sealed set-up token (field `totp_token`) names the agent. Wrong code: 422, the QR again."""
    agents, sealed = services_of(request).agents, data.get("totp_token") or ""
    try:
        await agents.invite_totp_confirm(sealed, (data.get("code") or "")[:20])
    except TeamRefused as refused:
        if refused.status == 410:
            return page(request, "auth/invite.html", status_code=410, gone=True)
        setup = await agents.invite_totp_pending(sealed, totp_issuer(request))
        error = translator(language(request))(refused.code)
        return page(
            request,
            "auth/invite.html",
            status_code=refused.status,
            done=True,
            token=token,
            totp_setup=setup,
            totp_error=error,
        )
    return see_other("/login")


INVITE_ROUTES = [invite, accept_invite, invite_totp_confirm]
owner_router = Router(
    path="/", route_handlers=[team, add_agent, change_agent], guards=[owner_guard], include_in_schema=False
)
me_router = Router(
    path="/",
    route_handlers=[
        me,
        rename,
        change_password,
        totp_setup,
        totp_confirm,
        totp_disable,
        telegram_link,
        telegram_unlink,
    ],
    guards=[admin_guard],
    include_in_schema=False,
)
