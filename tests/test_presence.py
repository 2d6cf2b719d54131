"""app/services/presence.py in process: online while a stream is open (counted per process, one row each), the
announcements streams get, the admin's availability by hand, other processes' rows and their expiry, and the
heartbeat that repairs this process's rows. With the app's services: any admin page's stream counts support online
(and only while its session lives), and the dashboard's header reads the open conversation's presence with the list."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from app.clock import now
from app.models import Presence
from app.services.presence import ADMIN, PresenceTracker, conversation_subject
from app.services.realtime import ADMIN_TOPIC, VISITORS_TOPIC, Hub, MemoryBroker
from app.services.streams import admin_stream
from app.services.threads import threads_page
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("presence"))
    yield settings
    drop_database(settings.database_url)


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


async def test_any_admin_page_counts_support_online_while_its_session_lives(settings):
    """Every admin page holds an admin stream: the dashboard its own, any other page (say /admin/embed) one that
    follows no conversation (admin/_bar.html). Such a stream is enough for support to be online."""
    async with running_services(settings) as s:
        token = await s.auth.create_session("admin")
        identity = await s.auth.session_identity(token)
        assert identity is not None and not await s.presence.is_online(ADMIN)
        stream = admin_stream(s.streams, identity.session_token_hash, identity.expires_at, None, 0, "en")
        async with aclosing(stream):
            first = await asyncio.wait_for(anext(stream), timeout=5)  # it has entered presence by now
            assert first is not None and first.event == "threads"
            assert await s.presence.is_online(ADMIN)
            assert (await s.visitor_pages.start_form("en"))["support_online"] is True
            await s.auth.end_session(token)  # logged out: the stream ends, and support with it
            assert all(e is None or e.event == "threads" for e in [e async for e in stream])
        assert not await s.presence.is_online(ADMIN)
        assert (await s.visitor_pages.start_form("en"))["support_online"] is False


async def test_the_open_conversation_comes_with_the_list_and_the_same_presence(settings):
    """The dashboard's header shows the open conversation's presence from the list's refresh (sent on every
    presence change), so it can never say "online" beside a grey dot, even when that conversation is on no page
    of the list being shown."""
    async with running_services(settings) as s:
        older, _ = await s.conversations.start("Older", "en")
        newer, _ = await s.conversations.start("Newer", "en")
        subject = conversation_subject(older.id)
        await s.presence.enter(subject)
        try:
            listed = await threads_page(s.conversations, s.presence, None, limit=1, lang="en", open_id=older.id)
            assert [t.id for t in listed.threads] == [newer.id]  # the open one is not on this page
            assert listed.open_thread is not None and listed.open_thread.id == older.id
            assert listed.open_thread.online and listed.open_thread.display_name == "Older"
        finally:
            await s.presence.leave(subject)
        listed = await threads_page(s.conversations, s.presence, None, lang="en", open_id=older.id)
        opened = next(t for t in listed.threads if t.id == older.id)
        assert listed.open_thread == opened and not opened.online
        assert (await threads_page(s.conversations, s.presence, None, lang="en")).open_thread is None
