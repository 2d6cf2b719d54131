"""Failed password checks count against the account and against the client IP (ASVS 2.2.1, SPEC §13).

After `THRESHOLD` consecutive failures on a key the next attempts are refused (429 + Retry-After) for a delay
that starts at `LOGIN_LOCKOUT_SECONDS` and doubles with every further failure, up to an hour; a correct password
resets both keys, and a run of failures is forgotten a day after its last one. The counts live in the database
(app/services/counters.py) so every server process sees the same ones.

An unknown username is counted exactly like the real one (same table, same threshold, same answers), so the
lockout reveals nothing about which accounts exist. Usernames are stored only as a keyed hash: people type their
password into the username field.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from app.clock import now
from app.services import counters

THRESHOLD = 10
MAX_DELAY = 3600
FORGET_SECONDS = 86400


class LoginThrottled(Exception):
    """Too many failed password checks on this account or from this address; try again in `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after


class LoginGuard:
    def __init__(self, secret_key: str, base_delay: int) -> None:
        self._key = hashlib.sha256(f"login-guard:{secret_key}".encode()).digest()
        self.base_delay = base_delay

    def _keys(self, username: str, ip: str) -> tuple[str, str]:
        account = hmac.new(self._key, username.encode(), hashlib.sha256).hexdigest()[:40]
        return f"login:user:{account}", f"login:ip:{ip[:64]}"

    def delay(self, failures: int) -> int:
        """Seconds of lockout after `failures` consecutive failures (0 below the threshold)."""
        if failures < THRESHOLD:
            return 0
        return min(max(MAX_DELAY, self.base_delay), self.base_delay * 2 ** min(failures - THRESHOLD, 20))

    async def check(self, username: str, ip: str) -> None:
        """Raises LoginThrottled while the account or the address is locked."""
        moment = now()
        until = 0.0
        for key in self._keys(username, ip):
            state = await counters.read(key)
            if state is not None:
                until = max(until, state.blocked_until)
        if until > moment:
            raise LoginThrottled(max(1, math.ceil(until - moment)))

    async def failed(self, username: str, ip: str) -> int:
        """Count one failure on both keys; returns the account's consecutive failures."""
        counts = []
        for key in self._keys(username, ip):
            state = await counters.increment(key, FORGET_SECONDS, sliding=True)
            if state.count >= THRESHOLD:
                await counters.block(key, now() + self.delay(state.count))
            counts.append(state.count)
        return counts[0]

    async def succeeded(self, username: str, ip: str) -> None:
        for key in self._keys(username, ip):
            await counters.reset(key)
