"""Admin authentication: password, then a one-time code, then a server-side session, for every agent of the team.

- Accounts are rows of `agent` (app/services/agents.py manages them). The first owner comes from ADMIN_USERNAME:
  `ensure_first_owner` writes it on a database without an enabled owner (an upgrade, a new install), marked so
  that its password stays ADMIN_PASSWORD(_HASH) until it is changed in the app.

- The password is compared in constant time against a scrypt hash (a plain ADMIN_PASSWORD is hashed at start),
  in a worker thread (a few at a time), never on the event loop. Failed checks count per account and per IP
  (app/services/login_guard.py): after 10 in a row, a growing lockout.
- The code: 6 digits from `secrets`, stored as an HMAC bound to the login attempt (whose token lives only in
  that browser's cookie), valid `login_code_seconds`, single use, dead after 5 wrong tries; an account or IP
  with too many recent failures is refused outright.
- Sessions: a random token in the cookie, its hash in the database; idle and absolute timeouts; logout
  deletes the row, so a replayed cookie is worthless, and publishes a revocation that ends the session's open
  streams in every process (they also recheck the row: `session_deadline`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from app.clock import now
from app.logs import highlight
from app.models import AdminSession, Agent, LoginAttempt
from app.services import audit, totp
from app.services.crypto import Cipher, new_token, token_hash
from app.services.login_guard import LoginGuard
from app.services.realtime import Broker, publish_now, revocation, session_topic

log = logging.getLogger("sohbet.auth")

# `login_attempt.code_hash` of an attempt completed by the agent's authenticator app (no code was sent).
TOTP_ATTEMPT = "totp"
# `agent.password_hash` of the first owner made from the environment: its password is the configured one.
ENV_PASSWORD = "env"  # noqa: S105 - a marker, not a password
OWNER = "owner"
MAX_CODE_FAILURES = 5
ACCOUNT_FAILURE_WINDOW = 15 * 60
ACCOUNT_FAILURE_LIMIT = 10
# scrypt takes 16 MB and ~75 ms of CPU a check: a burst of logins queues for half the cores, leaving the rest to
# the event loop (more threads than cores would only slow every request down).
HASHING_THREADS = max(1, (os.cpu_count() or 2) // 2)
_hashing: anyio.CapacityLimiter | None = None


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, encoded: str) -> bool:
    try:
        _, salt_b64, digest_b64 = encoded.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return hmac.compare_digest(digest, expected)


class CodeSender(Protocol):
    """Delivers a login code to the admin. `available` is False when no channel may be used."""

    available: bool

    async def send_code(self, username: str, code: str) -> None: ...


class ChatCodeSender(Protocol):
    """Delivers login codes to one chat of the agent's own (their linked Telegram account's private chat)."""

    def to_chat(self, chat_id: str) -> CodeSender: ...


class ConsoleCodeSender:
    """Development only: the code is printed on stdout, on a line of its own between rules (and highlighted on a
    terminal) so that it stands out among the JSON log lines; never logged."""

    def __init__(self, enabled: bool) -> None:
        self.available = enabled

    async def send_code(self, username: str, code: str) -> None:
        line = f"  Login code for {username}: {code}  "
        rule = "-" * len(line)
        sys.stdout.write(f"\n{rule}\n{highlight(line, sys.stdout)}\n{rule}\n\n")  # one write: no interleaving
        sys.stdout.flush()


class LoginUnavailable(RuntimeError):
    """No channel can deliver a login code (production without Telegram)."""


class NoCodeChannel(LoginUnavailable):
    """This agent has no channel for a login code (an agent, not an owner, in production: no second factor of their
    own yet)."""


class CodeNotDelivered(LoginUnavailable):
    """The channel failed to deliver the code (Telegram down, refused, timed out). The attempt is discarded."""

    def __init__(self, error_code: int = 0, description: str = "") -> None:
        super().__init__(f"code not delivered: {error_code or ''} {description}".strip())
        self.error_code = error_code
        self.description = description


class WrongPassword(ValueError):
    """The username or the password is wrong (which one is never said)."""


class CodeRejected(ValueError):
    """`reason`: wrong, expired, used, locked, unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AdminIdentity:
    username: str
    session_token_hash: str
    expires_at: float = 0.0  # epoch seconds: the idle or absolute timeout, whichever comes first
    role: str = OWNER  # owner | agent
    display_name: str = ""  # "" shows as "Support"
    availability: str = "online"  # online | away (SPEC §8)

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


class AuthService:
    def __init__(
        self,
        *,
        username: str,
        password_hash: str,
        secret_key: str,
        code_sender: CodeSender,
        code_seconds: int,
        idle_seconds: int,
        absolute_seconds: int,
        broker: Broker | None = None,
        lockout_seconds: int = 60,
        agent_code_sender: CodeSender | None = None,
        cipher: Cipher | None = None,
        linked_code_sender: ChatCodeSender | None = None,
    ) -> None:
        self._username = username
        self._password_hash = password_hash
        self._code_key = hashlib.sha256(f"login-code:{secret_key}".encode()).digest()
        self._sender = code_sender  # owners' codes
        self._agent_sender = agent_code_sender or ConsoleCodeSender(enabled=False)  # the other agents' codes
        self._linked_sender = linked_code_sender  # agents' own Telegram accounts (None: Telegram is not configured)
        self._owner_ready = False
        self._cipher = cipher  # decrypts agents' TOTP secrets (None: TOTP is not used)
        self._code_seconds = code_seconds
        self._idle = idle_seconds
        self._absolute = absolute_seconds
        self._broker = broker  # where a logout announces the revocation (None: nobody listens)
        self._dummy_hash = hash_password(secrets.token_urlsafe(16))
        self.guard = LoginGuard(secret_key, lockout_seconds)

    @property
    def can_deliver_codes(self) -> bool:
        return self._sender.available

    async def ensure_first_owner(self) -> None:
        """ADMIN_USERNAME becomes the first owner of a team that has no enabled owner (once per process; at start-up
        and before the first login). Two processes doing it at once write one row."""
        if self._owner_ready:
            return
        known = await Agent.exists().where(Agent.username == self._username)
        owners = Agent.exists().where((Agent.role == OWNER) & (Agent.disabled == False))  # noqa: E712
        if not known and not await owners:
            first = Agent(username=self._username, display_name="", role=OWNER, password_hash=ENV_PASSWORD)
            first.created_at = now()
            await Agent.insert(first).on_conflict(target=Agent.username, action="DO NOTHING")
            log.info(json.dumps({"event": "team.first_owner", "username": self._username}))
        self._owner_ready = True

    def password_matches(self, password: str, encoded: str) -> bool:
        """`encoded` is an agent's stored hash; ENV_PASSWORD stands for the configured one."""
        return verify_password(password, self._password_hash if encoded == ENV_PASSWORD else encoded)

    async def check_password(self, username: str, password: str) -> str | None:
        """The agent's role when the password is theirs and they are enabled, else None. A wrong username, a disabled
        agent or one still invited costs the same scrypt as a wrong password."""
        global _hashing
        await self.ensure_first_owner()
        row = await (
            Agent.select(Agent.role, Agent.password_hash, Agent.disabled).where(Agent.username == username).first()
        )
        usable = row is not None and not row["disabled"] and bool(row["password_hash"])
        encoded = row["password_hash"] if row is not None and usable else self._dummy_hash
        if _hashing is None:
            _hashing = anyio.CapacityLimiter(HASHING_THREADS)
        matches = await anyio.to_thread.run_sync(self.password_matches, password, encoded, limiter=_hashing)
        return str(row["role"]) if row is not None and usable and matches else None

    async def start_login(self, username: str, password: str, ip: str) -> str:
        """The first step of every login (the form and the JSON API): refuse a locked account or address
        (LoginThrottled), check the password off the event loop (WrongPassword, counted), then send a code;
        returns the attempt token (see begin_login)."""
        await self.guard.check(username, ip)
        role = await self.check_password(username, password)
        if role is None:
            failures = await self.guard.failed(username, ip)
            log.info(json.dumps({"event": "login.failed", "ip": ip, "failures": failures}))
            await audit.record("login.failed", username, actor=username, ip=ip, step="password")
            raise WrongPassword("wrong username or password")
        await self.guard.succeeded(username, ip)
        return await self.begin_login(username, ip, role)

    def _code_hash(self, attempt_token: str, code: str) -> str:
        return hmac.new(self._code_key, f"{attempt_token}:{code}".encode(), hashlib.sha256).hexdigest()

    async def _recent_failures(self, username: str, ip: str) -> int:
        rows = await LoginAttempt.select(LoginAttempt.failures).where(
            ((LoginAttempt.username == username) | (LoginAttempt.ip == ip))
            & (LoginAttempt.created_at > now() - ACCOUNT_FAILURE_WINDOW)
        )
        return sum(r["failures"] for r in rows)

    def code_sender(self, role: str) -> CodeSender:
        """Owners: TELEGRAM_CHAT_ID, else the development console. Other agents: the development console."""
        return self._sender if role == OWNER else self._agent_sender

    async def _sender_for(self, username: str, role: str) -> CodeSender:
        """The agent's linked Telegram account first (SPEC §8), else `code_sender(role)`."""
        if self._linked_sender is not None:
            row = await Agent.select(Agent.telegram_chat_id).where(Agent.username == username).first()
            if row and row["telegram_chat_id"]:
                return self._linked_sender.to_chat(str(row["telegram_chat_id"]))
        return self.code_sender(role)

    async def begin_login(self, username: str, ip: str, role: str = OWNER) -> str:
        """Password already checked: make and send a code (none for an agent with TOTP: their app makes it); returns
        the attempt token for the cookie."""
        uses_totp = await self.uses_totp(username)
        sender = self.code_sender(role) if uses_totp else await self._sender_for(username, role)
        if not uses_totp and not sender.available:
            if self._sender.available:
                raise NoCodeChannel("no code delivery channel for this agent")
            raise LoginUnavailable("no code delivery channel")
        if await self._recent_failures(username, ip) >= ACCOUNT_FAILURE_LIMIT:
            raise CodeRejected("locked")
        attempt_token = new_token()
        code = f"{secrets.randbelow(1_000_000):06d}"
        moment = now()
        await LoginAttempt.insert(
            LoginAttempt(
                token_hash=token_hash(attempt_token),
                username=username,
                ip=ip,
                code_hash=TOTP_ATTEMPT if uses_totp else self._code_hash(attempt_token, code),
                created_at=moment,
                expires_at=moment + self._code_seconds,
                failures=0,
                used=False,
            )
        )
        if uses_totp:
            log.info(json.dumps({"event": "login.totp_asked", "username": username, "ip": ip}))
            return attempt_token
        try:
            await sender.send_code(username, code)
        except Exception as exc:
            # The browser never gets the attempt token, and the attempt goes: no code is left usable.
            await LoginAttempt.delete().where(LoginAttempt.token_hash == token_hash(attempt_token))
            failure = exc if isinstance(exc, CodeNotDelivered) else CodeNotDelivered(0, type(exc).__name__)
            log.warning(
                json.dumps(
                    {
                        "event": "login.code_not_delivered",
                        "username": username,
                        "ip": ip,
                        "error_code": failure.error_code,
                        "error": failure.description[:100],
                    }
                )
            )
            raise failure from None
        log.info(json.dumps({"event": "login.code_sent", "username": username, "ip": ip}))
        return attempt_token

    async def verify_code(self, attempt_token: str | None, code: str, ip: str) -> str:
        """The username whose attempt this code completes; raises CodeRejected otherwise."""
        if not attempt_token:
            raise CodeRejected("unknown")
        attempt = await LoginAttempt.select().where(LoginAttempt.token_hash == token_hash(attempt_token)).first()
        if attempt is None:
            raise CodeRejected("unknown")
        if attempt["used"]:
            raise CodeRejected("used")
        if attempt["expires_at"] < now():
            raise CodeRejected("expired")
        if attempt["failures"] >= MAX_CODE_FAILURES:
            raise CodeRejected("locked")
        if await self._recent_failures(attempt["username"], ip) >= ACCOUNT_FAILURE_LIMIT:
            raise CodeRejected("locked")
        expected = attempt["code_hash"]
        if expected == TOTP_ATTEMPT:
            right = await self._totp_accepts(attempt["username"], code)
        else:
            right = hmac.compare_digest(expected, self._code_hash(attempt_token, code.strip()))
        if not right:
            await LoginAttempt.update({LoginAttempt.failures: LoginAttempt.failures + 1}).where(
                LoginAttempt.id == attempt["id"]
            )
            log.info(json.dumps({"event": "login.code_wrong", "ip": ip, "failures": attempt["failures"] + 1}))
            username = str(attempt["username"])
            await audit.record("login.failed", username, actor=username, ip=ip, step="code")
            raise CodeRejected("wrong" if attempt["failures"] + 1 < MAX_CODE_FAILURES else "locked")
        # Single use: only the request that flips `used` wins, even if two arrive at once.
        won = await (
            LoginAttempt.update({LoginAttempt.used: True})
            .where((LoginAttempt.id == attempt["id"]) & (LoginAttempt.used == False))  # noqa: E712
            .returning(LoginAttempt.id)
        )
        if not won:
            raise CodeRejected("used")
        return str(attempt["username"])

    async def uses_totp(self, username: str) -> bool:
        """Whether this agent logs in with an authenticator code (TOTP set up and confirmed)."""
        if self._cipher is None:
            return False
        row = await Agent.select(Agent.totp_enabled).where(Agent.username == username).first()
        return bool(row and row["totp_enabled"])

    async def _totp_accepts(self, username: str, code: str) -> bool:
        """The code is the agent's current one (±1 step) and its step is newer than the last accepted: that step is
        recorded by a conditional update, so of two requests with the same code only one wins."""
        row = await (
            Agent.select(Agent.totp_secret, Agent.totp_last_step, Agent.totp_enabled)
            .where(Agent.username == username)
            .first()
        )
        if row is None or not row["totp_enabled"] or self._cipher is None:
            return False
        last = int(row["totp_last_step"] or 0)
        step = totp.accepted_step(self._cipher.decrypt(row["totp_secret"] or ""), code, last, now())
        if step is None:
            return False
        won = await (
            Agent.update({Agent.totp_last_step: step})
            .where((Agent.username == username) & (Agent.totp_last_step < step))
            .returning(Agent.id)
        )
        return bool(won)

    async def create_session(self, username: str, ip: str = "") -> str:
        """A brand-new session token (the id changes at every login); the login goes in the audit log."""
        token = new_token()
        moment = now()
        await AdminSession.insert(
            AdminSession(token_hash=token_hash(token), username=username, created_at=moment, last_seen_at=moment)
        )
        log.info(json.dumps({"event": "login.success", "username": username}))
        await audit.record("login.success", username, actor=username, ip=ip)
        return token

    def _deadline(self, row: dict[str, Any]) -> float:
        created, seen = float(row["created_at"]), float(row["last_seen_at"])
        return min(created + self._absolute, seen + self._idle)

    async def session_identity(self, token: str | None) -> AdminIdentity | None:
        if not token:
            return None
        hashed = token_hash(token)
        row = await AdminSession.select().where(AdminSession.token_hash == hashed).first()
        if row is None:
            return None
        agent = await (
            Agent.select(Agent.role, Agent.display_name, Agent.disabled, Agent.availability)
            .where(Agent.username == row["username"])
            .first()
        )
        if agent is None or agent["disabled"]:
            return None
        moment = now()
        if moment >= self._deadline(row):
            await AdminSession.delete().where(AdminSession.id == row["id"])
            return None
        # Refresh the idle clock without a write per request (at most every 30 s, sooner for short timeouts).
        if moment - row["last_seen_at"] > min(30.0, self._idle / 10):
            await AdminSession.update({AdminSession.last_seen_at: moment}).where(AdminSession.id == row["id"])
            row["last_seen_at"] = moment
        return AdminIdentity(
            username=row["username"],
            session_token_hash=hashed,
            expires_at=self._deadline(row),
            role=agent["role"],
            display_name=agent["display_name"],
            availability=agent["availability"],
        )

    async def session_deadline(self, session_token_hash: str) -> float | None:
        """When the session expires if nothing refreshes it (epoch seconds), or None when it is over: logged
        out, expired, revoked. Reads only (an open stream is not activity: it must not keep a session alive)."""
        row = await (
            AdminSession.select(AdminSession.created_at, AdminSession.last_seen_at)
            .where(AdminSession.token_hash == session_token_hash)
            .first()
        )
        if row is None:
            return None
        deadline = self._deadline(row)
        return deadline if now() < deadline else None

    async def end_session(self, token: str | None) -> None:
        """Logout (or a new login in this browser): the row goes, and so do the session's open streams."""
        if not token:
            return
        hashed = token_hash(token)
        await AdminSession.delete().where(AdminSession.token_hash == hashed)
        if self._broker is not None:
            await publish_now(self._broker, [revocation(session_topic(hashed))])

    async def end_agent_sessions(self, username: str) -> int:
        """Every session of this agent ends at once (disabled, reset, a new password or role), and so do its pending
        logins; their open streams end in every process. Returns how many sessions ended."""
        await LoginAttempt.delete().where(LoginAttempt.username == username)
        ended = await AdminSession.delete().where(AdminSession.username == username).returning(AdminSession.token_hash)
        if ended and self._broker is not None:
            await publish_now(self._broker, [revocation(session_topic(row["token_hash"])) for row in ended])
        return len(ended)

    async def purge_expired(self) -> None:
        moment = now()
        await AdminSession.delete().where(
            (AdminSession.created_at < moment - self._absolute) | (AdminSession.last_seen_at < moment - self._idle)
        )
        await LoginAttempt.delete().where(LoginAttempt.created_at < moment - ACCOUNT_FAILURE_WINDOW)
