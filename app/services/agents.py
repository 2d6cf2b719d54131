"""The team (SPEC §8): agents, their roles, invites, disabling, resets, and each agent's own settings.

One user action = one method. Every refusal is `TeamRefused(status, code)` (`code`: an app.i18n key). An invite is
a random token shown once (its hash is stored) that lets the agent set a password within INVITE_SECONDS; using it
ends it. Disabling, resetting, a new password or a new role end every session of that agent at once, open streams
included, in every process (AuthService.end_agent_sessions). The last enabled owner can be neither disabled,
demoted nor reset: the team always keeps a way in.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import anyio

from app.clock import now
from app.models import Agent
from app.models.db import write_transaction
from app.services import audit
from app.services.audit import SYSTEM
from app.services.auth import ENV_PASSWORD, OWNER, AuthService, hash_password
from app.services.crypto import new_token, token_hash
from app.services.passwords import PasswordRefused, check_new_password
from app.services.text import TextError, clean_display_name

log = logging.getLogger("sohbet.team")

USERNAME = re.compile(r"[a-z0-9._-]{3,40}")
ROLES = ("owner", "agent")
INVITE_SECONDS = 72 * 3600


class TeamRefused(Exception):
    """Nothing changed. `status`: the HTTP status; `code`: the app.i18n key of the reason."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class AgentView:
    username: str
    display_name: str  # "" for the first owner until they set one: shown as "Support"
    role: str
    disabled: bool
    invited: bool  # an invite is pending (no password set through it yet)
    has_password: bool

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


@dataclass(frozen=True, slots=True)
class Invite:
    """A new invite: the agent and the token of the link `/invite/<token>` (shown once, never stored)."""

    agent: AgentView
    token: str


def _view(row: dict[str, Any]) -> AgentView:
    return AgentView(
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        disabled=bool(row["disabled"]),
        invited=row["invite_hash"] is not None and (row["invite_expires_at"] or 0) > now(),
        has_password=bool(row["password_hash"]),
    )


def _clean_name(value: str) -> str:
    try:
        return clean_display_name(value)
    except TextError:
        raise TeamRefused(422, "team.bad_display_name") from None


def _log(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}))


class AgentService:
    """Also a worker: starting it makes the first owner from ADMIN_USERNAME when the team has none."""

    def __init__(self, engine: Any, auth: AuthService, *, invite_seconds: int = INVITE_SECONDS) -> None:
        self._engine = engine
        self._auth = auth
        self._invite_seconds = invite_seconds

    async def start(self) -> None:
        await self._auth.ensure_first_owner()

    async def stop(self) -> None:
        return None

    # -- reading ---------------------------------------------------------------------------------------

    async def members(self) -> list[AgentView]:
        rows = await Agent.select().order_by(Agent.username)
        return [_view(row) for row in rows]

    async def get(self, username: str) -> AgentView | None:
        row = await Agent.select().where(Agent.username == username).first()
        return _view(row) if row else None

    async def _row(self, username: str) -> dict[str, Any]:
        row = await Agent.select().where(Agent.username == username).first()
        if row is None:
            raise TeamRefused(404, "team.unknown")
        return row

    # -- the owner manages the team ----------------------------------------------------------------------

    async def create(self, username: str, display_name: str, role: str, *, actor: str = SYSTEM, ip: str = "") -> Invite:
        """A new agent (no password yet) and its invite. `actor` and `ip` (here and below) go in the audit log."""
        username = username.strip().lower()
        if not USERNAME.fullmatch(username):
            raise TeamRefused(422, "team.bad_username")
        if role not in ROLES:
            raise TeamRefused(422, "team.bad_role")
        name = _clean_name(display_name) or username
        token = new_token()
        async with write_transaction(self._engine):
            if await Agent.exists().where(Agent.username == username):
                raise TeamRefused(409, "team.taken")
            row = Agent(username=username, display_name=name, role=role, password_hash="", disabled=False)
            row.invite_hash, row.invite_expires_at, row.created_at = (
                token_hash(token),
                now() + self._invite_seconds,
                now(),
            )
            await Agent.insert(row)
            await audit.record("team.created", username, actor=actor, ip=ip, role=role)
        _log("team.created", username=username, role=role)
        agent = await self.get(username)
        assert agent is not None
        return Invite(agent, token)

    async def _last_owner(self, username: str) -> bool:
        """Whether `username` is the only enabled owner who can log in (an owner still invited has no password yet
        and does not count), checked inside the changing transaction."""
        others = await Agent.count().where(
            (Agent.role == OWNER)
            & (Agent.disabled == False)  # noqa: E712
            & (Agent.password_hash != "")
            & (Agent.username != username)
        )
        return others == 0

    async def disable(self, username: str, *, actor: str = SYSTEM, ip: str = "") -> None:
        async with write_transaction(self._engine):
            row = await self._row(username)
            if row["role"] == OWNER and not row["disabled"] and await self._last_owner(username):
                raise TeamRefused(409, "team.last_owner")
            await Agent.update({Agent.disabled: True}).where(Agent.username == username)
            await audit.record("team.disabled", username, actor=actor, ip=ip)
        await self._auth.end_agent_sessions(username)
        _log("team.disabled", username=username)

    async def enable(self, username: str, *, actor: str = SYSTEM, ip: str = "") -> None:
        async with write_transaction(self._engine):
            await self._row(username)
            await Agent.update({Agent.disabled: False}).where(Agent.username == username)
            await audit.record("team.enabled", username, actor=actor, ip=ip)
        _log("team.enabled", username=username)

    async def reset(self, username: str, *, actor: str = SYSTEM, ip: str = "") -> Invite:
        """A new invite; the password is gone (the agent sets a new one through the link) and every session ends."""
        token = new_token()
        async with write_transaction(self._engine):
            row = await self._row(username)
            if row["role"] == OWNER and not row["disabled"] and await self._last_owner(username):
                raise TeamRefused(409, "team.last_owner")
            changes: dict[Any, Any] = {
                Agent.password_hash: "",
                Agent.invite_hash: token_hash(token),
                Agent.invite_expires_at: now() + self._invite_seconds,
            }
            await Agent.update(changes).where(Agent.username == username)
            await audit.record("team.reset", username, actor=actor, ip=ip)
        await self._auth.end_agent_sessions(username)
        _log("team.reset", username=username)
        agent = await self.get(username)
        assert agent is not None
        return Invite(agent, token)

    async def set_role(self, username: str, role: str, *, actor: str = SYSTEM, ip: str = "") -> None:
        if role not in ROLES:
            raise TeamRefused(422, "team.bad_role")
        async with write_transaction(self._engine):
            row = await self._row(username)
            if row["role"] == role:
                return
            if row["role"] == OWNER and not row["disabled"] and await self._last_owner(username):
                raise TeamRefused(409, "team.last_owner")
            await Agent.update({Agent.role: role}).where(Agent.username == username)
            await audit.record("team.role", username, actor=actor, ip=ip, role=role, was=row["role"])
        await self._auth.end_agent_sessions(username)
        _log("team.role", username=username, role=role)

    # -- the invited agent -----------------------------------------------------------------------------

    async def invited(self, token: str) -> AgentView:
        """The agent a live invite is for; TeamRefused(410) when it is unknown, used or expired."""
        row = await Agent.select().where(Agent.invite_hash == token_hash(token)).first() if token else None
        if row is None or (row["invite_expires_at"] or 0) <= now() or row["disabled"]:
            raise TeamRefused(410, "invite.gone")
        return _view(row)

    async def accept_invite(self, token: str, password: str, *, ip: str = "") -> AgentView:
        """Set the password through the invite, which ends; the agent then logs in as everyone does."""
        agent = await self.invited(token)
        encoded = await self._new_hash(password)
        used = await (
            Agent.update({Agent.password_hash: encoded, Agent.invite_hash: None, Agent.invite_expires_at: None})
            .where((Agent.invite_hash == token_hash(token)) & (Agent.invite_expires_at > now()))
            .returning(Agent.username)
        )
        if not used:  # used meanwhile (a second tab, a double submit)
            raise TeamRefused(410, "invite.gone")
        await self._auth.end_agent_sessions(agent.username)
        _log("team.invite_accepted", username=agent.username)
        await audit.record("team.invite_accepted", agent.username, actor=agent.username, ip=ip)
        return agent

    # -- an agent's own settings -----------------------------------------------------------------------

    async def rename(self, username: str, display_name: str) -> None:
        name = _clean_name(display_name)
        if not name:
            raise TeamRefused(422, "team.bad_display_name")
        await Agent.update({Agent.display_name: name}).where(Agent.username == username)

    async def change_password(self, username: str, current: str, new: str, *, ip: str = "") -> None:
        """The current password first (403 when wrong); then every session of the agent ends, this one too."""
        row = await self._row(username)
        encoded = row["password_hash"]
        right = bool(encoded) and await anyio.to_thread.run_sync(self._auth.password_matches, current, encoded)
        if not right:
            raise TeamRefused(403, "me.wrong_password")
        await Agent.update({Agent.password_hash: await self._new_hash(new)}).where(Agent.username == username)
        await self._auth.end_agent_sessions(username)
        _log("team.password_changed", username=username, was_env=encoded == ENV_PASSWORD)
        await audit.record("team.password_changed", username, actor=username, ip=ip)

    async def _new_hash(self, password: str) -> str:
        try:
            check_new_password(password)
        except PasswordRefused as refused:
            raise TeamRefused(422, refused.code) from None
        return await anyio.to_thread.run_sync(hash_password, password)
