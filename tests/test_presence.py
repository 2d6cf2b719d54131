"""app/services/presence.py in process: online while a stream is open (counted per process, one row each), the
announcements streams get, the admin's availability by hand, other processes' rows and their expiry, and the
heartbeat that repairs this process's rows."""

from __future__ import annotations

import asyncio

import pytest

from app.clock import now
from app.models import Presence
from app.services.presence import ADMIN, PresenceTracker, conversation_subject
from app.services.realtime import ADMIN_TOPIC, VISITORS_TOPIC, Hub, MemoryBroker


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
async def tracker(database, hub: Hub):
    presence = PresenceTracker(MemoryBroker(hub), heartbeat_seconds=60)
    yield presence
    await presence.stop()


def announced(subscription) -> list[str]:
    return [event.subject for event in subscription.pending if event.kind == "presence"]


async def rows() -> list[tuple[str, str]]:
    return sorted((r["process_id"], r["subject"]) for r in await Presence.select(Presence.process_id, Presence.subject))


async def test_a_visitor_is_online_while_one_of_their_streams_is_open(tracker, hub):
    admin_streams = hub.subscribe([ADMIN_TOPIC])
    subject = conversation_subject(7)
    await tracker.enter(subject)
    await tracker.enter(subject)  # a second tab: no second row, no second announcement
    assert await tracker.is_online(subject) and await rows() == [(tracker.process_id, subject)]
    await tracker.leave(subject)
    assert await tracker.is_online(subject)
    await tracker.leave(subject)
    assert not await tracker.is_online(subject) and await rows() == []
    assert announced(admin_streams) == [subject, subject]  # online, then offline
    assert admin_streams.pending[0].conversation_id == 7


async def test_support_coming_online_is_announced_to_visitors(tracker, hub):
    visitors = hub.subscribe([VISITORS_TOPIC])
    await tracker.enter(ADMIN)
    assert await tracker.is_online(ADMIN) and announced(visitors) == [ADMIN]


async def test_availability_set_by_hand_overrides_open_dashboards(tracker, hub):
    visitors = hub.subscribe([VISITORS_TOPIC])
    assert not await tracker.is_online(ADMIN)
    await tracker.set_availability("online")
    assert await tracker.is_online(ADMIN)
    await tracker.enter(ADMIN)
    await tracker.set_availability("offline")
    assert not await tracker.is_online(ADMIN)
    await tracker.set_availability("auto")
    assert await tracker.is_online(ADMIN)  # the dashboard is open
    assert announced(visitors) == [ADMIN] * 4
    with pytest.raises(ValueError):
        await tracker.set_availability("busy")


async def test_other_processes_count_until_their_rows_expire(tracker):
    alive, dead = conversation_subject(1), conversation_subject(2)
    await Presence.insert(
        Presence(process_id="other", subject=alive, expires_at=now() + 60),
        Presence(process_id="gone", subject=dead, expires_at=now() - 1),
    )
    assert await tracker.is_online(alive) and not await tracker.is_online(dead)
    await tracker.enter(conversation_subject(3))
    subjects = [conversation_subject(n) for n in (1, 2, 3, 4)]
    assert await tracker.online_subjects(subjects) == {alive, conversation_subject(3)}
    assert await tracker.online_subjects([]) == set()


async def test_the_heartbeat_repairs_rows_expires_the_dead_and_stop_removes_ours(database, hub):
    tracker = PresenceTracker(MemoryBroker(hub), heartbeat_seconds=0.05)
    subject = conversation_subject(5)
    admin_streams = hub.subscribe([ADMIN_TOPIC])
    await tracker.start()
    try:
        await tracker.enter(subject)
        await Presence.delete().where(Presence.process_id == tracker.process_id)  # lost, e.g. in a restart
        await Presence.insert(Presence(process_id="gone", subject=conversation_subject(6), expires_at=now() - 1))

        async def repaired() -> bool:
            return await rows() == [(tracker.process_id, subject)]

        for _ in range(100):
            if await repaired():
                break
            await asyncio.sleep(0.05)
        assert await repaired()
        assert conversation_subject(6) in announced(admin_streams)  # the expired one went offline
    finally:
        await tracker.stop()
    assert await rows() == []
