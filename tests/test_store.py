"""app/services/store.py in process: the Litestar store on our database (values, expiry, renewal, namespaces,
atomic counting), the memory store that sweeps expired keys, and the limiter for limits applied after the body."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.models import KeyValue
from app.services.store import DatabaseStore, SlidingWindowLimiter, SweepingMemoryStore


async def test_values_round_trip_and_are_replaced(database):
    store = DatabaseStore()
    assert await store.get("k") is None and not await store.exists("k")
    await store.set("k", "one")
    await store.set("k", b"two")
    assert await store.get("k") == b"two" and await store.exists("k")
    assert await store.expires_in("k") is None
    await store.delete("k")
    assert await store.get("k") is None


async def test_values_expire_and_can_be_renewed(database):
    store = DatabaseStore()
    await store.set("short", "x", expires_in=1)
    await store.set("long", "y", expires_in=timedelta(minutes=5))
    assert 0 <= await store.expires_in("short") <= 1 and 290 <= await store.expires_in("long") <= 300
    assert await store.get("long", renew_for=3600) == b"y" and await store.expires_in("long") > 3500
    await asyncio.sleep(1.1)
    assert await store.get("short") is None
    await store.set("gone", "z", expires_in=1)
    await asyncio.sleep(1.1)
    await store.purge_expired()
    assert [row["key"] for row in await KeyValue.select(KeyValue.key)] == ["sohbet:long"]


async def test_namespaces_keep_keys_apart_and_delete_all_stays_in_its_own(database):
    root = DatabaseStore()
    limits, sessions = root.with_namespace("limits"), root.with_namespace("sessions")
    await limits.set("a", "1")
    await sessions.set("a", "2")
    assert await limits.get("a") == b"1" and await sessions.get("a") == b"2"
    await limits.delete_all()
    assert await limits.get("a") is None and await sessions.get("a") == b"2"


async def test_counting_is_atomic_within_a_window(database):
    store = DatabaseStore().with_namespace("rl")
    results = await asyncio.gather(*(store.increment("ip", 60) for _ in range(10)))
    assert sorted(count for count, _ in results) == list(range(1, 11))
    assert len({end for _, end in results}) == 1
    assert (await store.increment("other", 60))[0] == 1


async def test_the_limiter_allows_count_per_window_on_the_database(database):
    limiter = SlidingWindowLimiter(DatabaseStore(), count=3, window_seconds=60)
    assert [await limiter.allow("ip") for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow("someone else")


async def test_the_limiter_slides_in_memory():
    limiter = SlidingWindowLimiter(SweepingMemoryStore(), count=2, window_seconds=1)
    assert [await limiter.allow("ip") for _ in range(3)] == [True, True, False]
    await asyncio.sleep(1.05)
    assert await limiter.allow("ip")


async def test_the_memory_store_sweeps_expired_keys_on_a_write():
    store = SweepingMemoryStore(sweep_seconds=0)
    await store.set("visitor-who-left", "x", expires_in=1)
    await asyncio.sleep(1.05)
    await store.set("someone", "y")
    assert "visitor-who-left" not in store._store and await store.get("someone") == b"y"
    assert store  # truthy even when it holds little (Litestar's StoreRegistry replaces a falsy store)
