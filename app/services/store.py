"""A Litestar `Store` on our database, so rate limits hold across every server process (PostgreSQL).

Counting goes through `increment` (one atomic statement on the `counter` table, app/services/counters.py): the
rate-limit middleware (app/ratelimit.py) and `SlidingWindowLimiter` use it, never a read-then-write of the
key-value rows, which loses counts when processes interleave.
"""

from __future__ import annotations

import json
from datetime import timedelta

from litestar.stores.base import NamespacedStore, Store
from litestar.stores.memory import MemoryStore

from app.clock import now
from app.models import KeyValue
from app.services import counters


def _seconds(value: int | timedelta | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class DatabaseStore(NamespacedStore):
    def __init__(self, namespace: str = "sohbet") -> None:
        super().__init__()
        self.namespace = namespace

    def with_namespace(self, namespace: str) -> DatabaseStore:
        return DatabaseStore(f"{self.namespace}:{namespace}")

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"[:400]

    async def increment(self, key: str, window: float) -> tuple[int, float]:
        """One more event in `key`'s fixed window of `window` seconds: (events in it so far, its end)."""
        state = await counters.increment(f"rl:{self._key(key)}"[:200], window)
        return state.count, state.expires_at

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        seconds = _seconds(expires_in)
        expires_at = now() + seconds if seconds else None
        full_key = self._key(key)
        updated = await (
            KeyValue.update({KeyValue.value: data, KeyValue.expires_at: expires_at})
            .where(KeyValue.key == full_key)
            .returning(KeyValue.key)
        )
        if not updated:
            try:
                await KeyValue.insert(KeyValue(key=full_key, value=data, expires_at=expires_at))
            except Exception:  # another process inserted it first: last writer wins
                await KeyValue.update({KeyValue.value: data, KeyValue.expires_at: expires_at}).where(
                    KeyValue.key == full_key
                )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        full_key = self._key(key)
        row = await KeyValue.select(KeyValue.value, KeyValue.expires_at).where(KeyValue.key == full_key).first()
        if row is None:
            return None
        if row["expires_at"] is not None and row["expires_at"] <= now():
            await KeyValue.delete().where(KeyValue.key == full_key)
            return None
        seconds = _seconds(renew_for)
        if seconds and row["expires_at"] is not None:
            await KeyValue.update({KeyValue.expires_at: now() + seconds}).where(KeyValue.key == full_key)
        return bytes(row["value"])

    async def delete(self, key: str) -> None:
        await KeyValue.delete().where(KeyValue.key == self._key(key))

    async def delete_all(self) -> None:
        await KeyValue.delete().where(KeyValue.key.like(f"{self.namespace}:%"))

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await KeyValue.select(KeyValue.expires_at).where(KeyValue.key == self._key(key)).first()
        if row is None or row["expires_at"] is None:
            return None
        return max(0, int(row["expires_at"] - now()))

    async def purge_expired(self) -> None:
        await KeyValue.delete().where(KeyValue.expires_at < now())


class SweepingMemoryStore(MemoryStore):
    """Litestar's MemoryStore forgets an expired key only when that same key is read again, so every visitor and
    client address that never comes back stayed in memory for good (a slow leak, one entry per visitor). This one
    also sweeps out every expired key, at most once per `sweep_seconds`, on a write."""

    # No __len__ here: Litestar's StoreRegistry replaces a store that is falsy (an empty one, with __len__) by a
    # new one on every lookup, and each request would count in a store of its own.
    def __init__(self, sweep_seconds: float = 60.0) -> None:
        super().__init__()
        self.sweep_seconds = sweep_seconds
        self.next_sweep = now() + sweep_seconds

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        await super().set(key, value, expires_in)
        if now() >= self.next_sweep:
            self.next_sweep = now() + self.sweep_seconds
            await self.delete_expired()


class SlidingWindowLimiter:
    """`count` events per window per key, for limits a route can only apply after reading the body (uploads).

    In memory (one process): a sliding window. On the database: a fixed window counted atomically (`increment`).
    """

    def __init__(self, store: Store, count: int, window_seconds: int) -> None:
        self._store = store
        self._count = count
        self._window = window_seconds

    async def allow(self, key: str) -> bool:
        if isinstance(self._store, DatabaseStore):
            count, _ = await self._store.increment(key, self._window)
            return count <= self._count
        moment = now()
        raw = await self._store.get(key)
        recent = [t for t in (json.loads(raw) if raw else []) if t > moment - self._window]
        if len(recent) >= self._count:
            return False
        recent.append(moment)
        await self._store.set(key, json.dumps(recent), expires_in=self._window)
        return True
