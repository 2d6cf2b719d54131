"""The admin's login as one action for both entries (the login form and the JSON API): `start` (password →
a one-time code is sent) and `finish` (the code → a new session, any old one of this browser ended).

Every refusal is `LoginRefused(status, message_key, retry_after)`: the HTTP status, the app.i18n key of the
message shown, and for a lockout the seconds to put in Retry-After.
"""

from __future__ import annotations

from app.services.auth import (
    AuthService,
    CodeNotDelivered,
    CodeRejected,
    LoginUnavailable,
    NoCodeChannel,
    WrongPassword,
)
from app.services.login_guard import LoginThrottled

USERNAME_MAX = 100
CODE_MAX = 20
CODE_REASON_KEYS = {
    "wrong": "login.code_wrong",
    "expired": "login.code_expired",
    "used": "login.code_expired",
    "unknown": "login.code_expired",
    "locked": "login.code_locked",
}


class LoginRefused(Exception):
    def __init__(self, status: int, message_key: str, retry_after: int | None = None) -> None:
        super().__init__(message_key)
        self.status = status
        self.message_key = message_key
        self.retry_after = retry_after


async def start(auth: AuthService, username: str, password: str, ip: str) -> str:
    """Check the password and send a code; returns the pending attempt's token (the login cookie)."""
    try:
        return await auth.start_login(username[:USERNAME_MAX], password, ip)
    except WrongPassword:
        raise LoginRefused(401, "login.wrong") from None
    except LoginThrottled as throttled:
        raise LoginRefused(429, "login.locked_out", throttled.retry_after) from None
    except CodeNotDelivered:
        raise LoginRefused(503, "login.code_not_delivered") from None
    except NoCodeChannel:  # right password, but nothing can bring this agent a code (production, not an owner)
        raise LoginRefused(403, "login.no_code_channel") from None
    except LoginUnavailable:
        raise LoginRefused(503, "login.unavailable") from None
    except CodeRejected as rejected:
        raise LoginRefused(429, CODE_REASON_KEYS[rejected.reason]) from None


async def finish(auth: AuthService, attempt_token: str | None, code: str, ip: str, old_session: str | None) -> str:
    """Check the code; end the session this browser had (a login always gets a new session id) and return the
    new session's token."""
    try:
        username = await auth.verify_code(attempt_token, code[:CODE_MAX], ip)
    except CodeRejected as rejected:
        status = 429 if rejected.reason == "locked" else 401
        raise LoginRefused(status, CODE_REASON_KEYS[rejected.reason]) from None
    await auth.end_session(old_session)
    return await auth.create_session(username, ip)
