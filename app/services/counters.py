"""Counters that every server process shares, in the `counter` table, each changed by ONE atomic statement.

A read-then-write (read the count, add one, write it back) loses increments when two processes interleave; an
`INSERT … ON CONFLICT DO UPDATE … RETURNING` cannot (PostgreSQL locks the row, SQLite the database, for the one
statement). Used for the rate limits' windows and for failed password checks (app/services/login_guard.py).

A counter is a fixed window (`increment`: the count restarts once `expires_at` passes) or, with `sliding=True`,
a run that is forgotten `window` seconds after its last increment. `block` sets a lockout's end on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import now
from app.models import Counter

# Every expression on the right of SET reads the row as it was before the statement, on both databases.
_UPSERT = """
INSERT INTO counter ("key", "count", expires_at, blocked_until) VALUES ({}, 1, {}, 0)
ON CONFLICT ("key") DO UPDATE SET
    "count" = CASE WHEN counter.expires_at <= {} THEN 1 ELSE counter."count" + 1 END,
    blocked_until = CASE WHEN counter.expires_at <= {} THEN 0 ELSE counter.blocked_until END,
    expires_at = CASE WHEN counter.expires_at <= {} THEN excluded.expires_at ELSE %s END
RETURNING "count", expires_at, blocked_until
"""
_FIXED = _UPSERT % "counter.expires_at"
_SLIDING = _UPSERT % "excluded.expires_at"


@dataclass(frozen=True, slots=True)
class Count:
    count: int
    expires_at: float
    blocked_until: float


async def increment(key: str, window: float, *, sliding: bool = False) -> Count:
    """Add one to `key` and return the new state, atomically across processes."""
    moment = now()
    rows = await Counter.raw(_SLIDING if sliding else _FIXED, key[:200], float(moment + window), moment, moment, moment)
    row = rows[0]
    return Count(int(row["count"]), float(row["expires_at"]), float(row["blocked_until"]))


async def read(key: str) -> Count | None:
    row = await (
        Counter.select(Counter.count, Counter.expires_at, Counter.blocked_until)
        .where((Counter.key == key[:200]) & (Counter.expires_at > now()))
        .first()
    )
    if row is None:
        return None
    return Count(int(row["count"]), float(row["expires_at"]), float(row["blocked_until"]))


async def block(key: str, until: float) -> None:
    """Lock `key` until `until` (epoch seconds); the row lives at least as long."""
    await Counter.update({Counter.blocked_until: until}).where(Counter.key == key[:200])
    await Counter.update({Counter.expires_at: until}).where((Counter.key == key[:200]) & (Counter.expires_at < until))


async def reset(key: str) -> None:
    await Counter.delete().where(Counter.key == key[:200])


async def purge_expired() -> int:
    """Delete rows past their window (and any lockout); returns how many."""
    moment = now()
    gone = (
        await Counter.delete()
        .where((Counter.expires_at <= moment) & (Counter.blocked_until <= moment))
        .returning(Counter.id)
    )
    return len(gone)
