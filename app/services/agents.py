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
from app.services import audit, totp
from app.services.audit import SYSTEM
from app.services.auth import ENV_PASSWORD, OWNER, AuthService, hash_password
from app.services.crypto import Cipher, new_token, token_hash
from app.services.passwords import PasswordRefused, check_new_password
from app.services.text import TextError, clean_display_name

log = logging.getLogger("sohbet.team")

USERNAME = re.compile(r"[a-z0-9._-]{3,40}")
ROLES = ("owner", "agent")
INVITE_SECONDS = 72 * 3600
INVITE_TOTP_SECONDS = 600  # how long the invite page's authenticator set-up stays usable


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
    totp_enabled: bool = False
    telegram_linked: bool = False  # their own Telegram account is linked (app/services/telegram/accounts.py)

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
        totp_enabled=bool(row.get("totp_enabled")),
        telegram_linked=row.get("telegram_user_id") is not None,
    )


@dataclass(frozen=True, slots=True)
class TotpSetup:
    """A pending authenticator set-up: the secret (shown once), its otpauth:// URI and that URI's QR code (SVG)."""

    secret: str
    uri: str
    qr_svg: str
    token: str = ""  # on the invite page (no session): Fernet-sealed username + secret + expiry


def _clean_name(value: str) -> str:
    try:
        return clean_display_name(value)
    except TextError:
        raise TeamRefused(422, "team.bad_display_name") from None


def _log(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}))


class AgentService:
    """Also a worker: starting it makes the first owner from ADMIN_USERNAME when the team has none."""

    def __init__(self, engine: Any, auth: AuthService, cipher: Cipher, *, invite_seconds: int = INVITE_SECONDS) -> None:
        self._engine = engine
        self._auth = auth
        self._cipher = cipher
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
        """A new invite; the password and the authenticator app are gone (the agent sets a new password through the
        link) and every session ends."""
        token = new_token()
        async with write_transaction(self._engine):
            row = await self._row(username)
            if row["role"] == OWNER and not row["disabled"] and await self._last_owner(username):
                raise TeamRefused(409, "team.last_owner")
            changes: dict[Any, Any] = {
                Agent.password_hash: "",
                Agent.invite_hash: token_hash(token),
                Agent.invite_expires_at: now() + self._invite_seconds,
                # A lost phone: the reset starts over without the authenticator app too.
                Agent.totp_secret: "",
                Agent.totp_enabled: False,
                Agent.totp_last_step: 0,
                # ... and without the Telegram account, which would still receive login codes.
                Agent.telegram_user_id: None,
                Agent.telegram_chat_id: None,
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

    async def invite_totp_begin(self, username: str, issuer: str) -> TotpSetup:
        """Right after the invite's password: a set-up carried by a token sealed for this agent and this secret,
        usable for INVITE_TOTP_SECONDS without a session."""
        setup = await self.totp_begin(username, issuer)
        sealed = json.dumps({"u": username, "s": setup.secret, "e": now() + INVITE_TOTP_SECONDS})
        return TotpSetup(setup.secret, setup.uri, setup.qr_svg, self._cipher.encrypt(sealed))

    async def _invite_totp_agent(self, token: str) -> str:
        """The agent a live invite set-up token is for; 410 when it is forged, expired or its secret replaced."""
        try:
            sealed = json.loads(self._cipher.decrypt(token[:2000]))
            username, secret, expires = str(sealed["u"]), str(sealed["s"]), float(sealed["e"])
        except (ValueError, KeyError, TypeError):
            raise TeamRefused(410, "invite.gone") from None
        row = await Agent.select().where(Agent.username == username).first() if expires > now() else None
        if row is None or row["disabled"] or self._cipher.decrypt(row["totp_secret"] or "") != secret:
            raise TeamRefused(410, "invite.gone")
        return username

    async def invite_totp_confirm(self, token: str, code: str) -> None:
        """The app's first code on the invite page turns TOTP on (422, nothing changed, when it is wrong)."""
        await self.totp_confirm(await self._invite_totp_agent(token), code)

    async def invite_totp_pending(self, token: str, issuer: str) -> TotpSetup | None:
        """The invite page's set-up again (after a wrong code), with the same token."""
        setup = await self.totp_pending(await self._invite_totp_agent(token), issuer)
        return TotpSetup(setup.secret, setup.uri, setup.qr_svg, token) if setup else None

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
        if not await self._password_right(row, current):
            raise TeamRefused(403, "me.wrong_password")
        await Agent.update({Agent.password_hash: await self._new_hash(new)}).where(Agent.username == username)
        await self._auth.end_agent_sessions(username)
        _log("team.password_changed", username=username, was_env=encoded == ENV_PASSWORD)
        await audit.record("team.password_changed", username, actor=username, ip=ip)

    async def _password_right(self, row: dict[str, Any], password: str) -> bool:
        encoded = row["password_hash"]
        return bool(encoded) and await anyio.to_thread.run_sync(self._auth.password_matches, password, encoded)

    async def totp_begin(self, username: str, issuer: str) -> TotpSetup:
        """A new secret, pending until confirmed (a set-up started again replaces it); 409 while TOTP is on."""
        row = await self._row(username)
        if row["totp_enabled"]:
            raise TeamRefused(409, "me.totp_already")
        secret = totp.new_secret()
        changes: dict[Any, Any] = {Agent.totp_secret: self._cipher.encrypt(secret), Agent.totp_last_step: 0}
        await Agent.update(changes).where(Agent.username == username)
        uri = totp.provisioning_uri(secret, username, issuer)
        return TotpSetup(secret, uri, totp.qr_svg(uri))

    async def totp_pending(self, username: str, issuer: str) -> TotpSetup | None:
        """The set-up in progress (to show it again after a wrong code), None when there is none."""
        row = await self._row(username)
        secret = "" if row["totp_enabled"] else self._cipher.decrypt(row["totp_secret"] or "")
        if not secret:
            return None
        uri = totp.provisioning_uri(secret, username, issuer)
        return TotpSetup(secret, uri, totp.qr_svg(uri))

    async def totp_confirm(self, username: str, code: str) -> None:
        """The first code from the app turns TOTP on (422, nothing changed, when it is wrong)."""
        row = await self._row(username)
        if row["totp_enabled"]:
            raise TeamRefused(409, "me.totp_already")
        secret = self._cipher.decrypt(row["totp_secret"] or "")
        step = totp.accepted_step(secret, code, int(row["totp_last_step"] or 0), now()) if secret else None
        if step is None:
            raise TeamRefused(422, "me.totp_wrong")
        changes: dict[Any, Any] = {Agent.totp_enabled: True, Agent.totp_last_step: step}
        await Agent.update(changes).where(Agent.username == username)
        _log("team.totp_enabled", username=username)

    async def totp_disable(self, username: str, current: str) -> None:
        """The current password turns TOTP off (403 when wrong); the secret is erased."""
        row = await self._row(username)
        if not await self._password_right(row, current):
            raise TeamRefused(403, "me.wrong_password")
        changes: dict[Any, Any] = {Agent.totp_secret: "", Agent.totp_enabled: False, Agent.totp_last_step: 0}
        await Agent.update(changes).where(Agent.username == username)
        _log("team.totp_disabled", username=username)

    async def _new_hash(self, password: str) -> str:
        try:
            check_new_password(password)
        except PasswordRefused as refused:
            raise TeamRefused(422, refused.code) from None
        return await anyio.to_thread.run_sync(hash_password, password)
