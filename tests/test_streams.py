"""The streams' rules (app/services/streams.py), in process on a temporary database: a feed catches up from a
sequence number, sends live messages from memory only when they follow its cursor (any gap reads the database),
replays a clear, notices a deleted conversation; a visitor's stream ends when its token is revoked or its
conversation goes; a dashboard's hints are paced; an admin stream ends with its session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import replace

import pytest

from app.services.presence import conversation_subject
from app.services.realtime import Event, conversation_topic
from app.services.streams import (
    HINT_SECONDS,
    AdminHints,
    ConversationFeed,
    StreamEvent,
    admin_stream,
    visitor_stream,
)
from app.wiring import Services
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database, message_seq, message_text

CLEARED = '<div id="messages" hx-swap-oob="innerHTML"></div>'


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("streams"))
    yield settings
    drop_database(settings.database_url)


async def conversation_with(s: Services, *texts: str, name: str = "Deniz") -> tuple[int, str]:
    thread, token = await s.conversations.start(name, "en")
    for text in texts:
        await s.conversations.post(thread.id, "visitor", text)
    return thread.id, token


async def next_event(stream: AsyncGenerator[StreamEvent | None, None]) -> StreamEvent | None:
    return await asyncio.wait_for(anext(stream), timeout=5)


async def test_catch_up_sends_what_follows_the_cursor(settings):
    async with running_services(settings) as s:
        conversation_id, _ = await conversation_with(s, "one", "two", "three")
        feed = ConversationFeed(s.streams, conversation_id, 1, "en", "admin")
        sent = await feed.catch_up()
        assert [(e.event, e.id) for e in sent] == [("message", "2"), ("message", "3")]
        assert [message_text(e.data) for e in sent] == ["two", "three"]
        assert [message_seq(e.data) for e in sent] == [2, 3]
        assert feed.cursor == 3 and feed.delivered_visitor_message
        assert await feed.catch_up() == []  # nothing twice


async def test_live_messages_come_from_memory_and_are_rendered_once(settings):
    async with running_services(settings) as s:
        conversation_id, _ = await conversation_with(s, "one")
        subscription = s.hub.subscribe([conversation_topic(conversation_id)])
        feed = ConversationFeed(s.streams, conversation_id, 1, "en", "visitor")
        await s.conversations.post(conversation_id, "admin", "reply")
        # The first message's own event may still be on its way (PostgreSQL's NOTIFY): wait for the reply's.
        events: list[Event] = []
        async with asyncio.timeout(10):
            while not any(e.conversation_id == conversation_id and e.seq == 2 for e in events):
                events += await subscription.wait(timeout=5)
        assert feed.concerns_me(events)
        sent = await feed.deliver(events)
        assert [(e.event, e.id, message_text(e.data)) for e in sent] == [("message", "2", "reply")]
        live = next(e for e in events if e.kind == "msg" and e.seq == 2)  # not the first message's, if it came late
        assert live.rendered[("visitor", "en")] == sent[0].data  # cached for every other visitor stream
        assert not feed.delivered_visitor_message  # support's own message
        assert not feed.concerns_me(events)  # already sent
        s.hub.unsubscribe(subscription)


async def test_a_gap_reads_the_missing_messages_from_the_database(settings):
    async with running_services(settings) as s:
        conversation_id, _ = await conversation_with(s, "one", "two", "three")
        feed = ConversationFeed(s.streams, conversation_id, 1, "en", "admin")
        # Only seq 3 announced (2 was announced to a stream that was not listening), and without the message.
        sent = await feed.deliver([Event("msg", conversation_id, 3, sender="visitor")])
        assert [e.id for e in sent] == ["2", "3"]
        # Events about other conversations or already sent sequence numbers concern nobody.
        assert not feed.concerns_me([Event("msg", conversation_id + 1000, 9), Event("msg", conversation_id, 2)])


async def test_a_clear_is_replayed_before_what_came_after(settings):
    async with running_services(settings) as s:
        conversation_id, _ = await conversation_with(s, "one", "two")
        await s.conversations.clear(conversation_id)  # takes seq 3
        await s.conversations.post(conversation_id, "visitor", "four")
        feed = ConversationFeed(s.streams, conversation_id, 2, "en", "visitor")
        sent = await feed.catch_up()
        assert [(e.event, e.id) for e in sent] == [("control", "3"), ("message", "4")]
        assert sent[0].data == CLEARED


async def test_a_deleted_conversation_ends_the_feed(settings):
    async with running_services(settings) as s:
        conversation_id, _ = await conversation_with(s, "one")
        feed = ConversationFeed(s.streams, conversation_id, 1, "en", "admin")
        await s.conversations.clear_all()
        assert await feed.deliver([Event("clear_all")]) == []
        assert not feed.exists


async def test_delivery_time_is_measured_for_messages_sent_live(settings):
    async with running_services(settings) as s:
        conversation_id, _ = await conversation_with(s)
        feed = ConversationFeed(s.streams, conversation_id, 0, "en", "admin")
        feed.note([Event("msg", conversation_id, 1, at=1.0), Event("msg", conversation_id + 1000, 1, at=1.0)])
        assert feed.stored_at == {1: 1.0}
        feed.sent(StreamEvent(event="message", data="", id="1"))
        assert feed.stored_at == {}
        assert "sohbet_delivery_latency_seconds_count 1" in s.metrics.render()


def test_hints_go_at_once_after_a_quiet_spell_then_at_most_every_interval():
    hints = AdminHints()
    assert not hints.owed
    hints.note([Event("thread", 1)])
    assert hints.threads and not hints.notify and hints.may_go(0.0)
    hints.sent(10.0)
    assert not hints.owed
    hints.note([Event("msg", 1, 2, sender="visitor")])
    assert hints.notify and hints.threads
    assert not hints.may_go(10.0 + HINT_SECONDS / 2)
    assert hints.wait_seconds(10.0 + HINT_SECONDS / 2) == pytest.approx(HINT_SECONDS / 2)
    assert hints.may_go(10.0 + HINT_SECONDS)
    hints.note([])
    hints.sent(11.0)
    hints.note([])
    assert not hints.owed  # nothing happened: nothing owed


async def test_visitor_stream_catches_up_then_ends_when_the_visitor_leaves(settings):
    async with running_services(settings) as s:
        conversation_id, token = await conversation_with(s, "one", "two")
        async with aclosing(visitor_stream(s.streams, conversation_id, token, 1, "en", embed=True)) as stream:
            status = await next_event(stream)
            assert status is not None and status.event == "control" and 'id="support-status"' in status.data
            message = await next_event(stream)
            assert message is not None and (message.event, message.id) == ("message", "2")
            await s.conversations.leave(conversation_id, "chat.ended_note")
            gone = await next_event(stream)
            assert gone is not None and gone.event == "control" and 'id="chat"' in gone.data
            assert 'href="/embed"' in gone.data  # the widget starts its new chat in the compact page
            with pytest.raises(StopAsyncIteration):
                await next_event(stream)
            # Its presence went with it.
            assert not await s.presence.is_online(conversation_subject(conversation_id))


async def test_visitor_stream_with_a_revoked_token_ends_at_once(settings):
    async with running_services(settings) as s:
        conversation_id, token = await conversation_with(s, "one")
        await s.conversations.leave(conversation_id, "chat.ended_note")
        async with aclosing(visitor_stream(s.streams, conversation_id, token, 0, "en", embed=False)) as stream:
            await next_event(stream)  # support's status
            gone = await next_event(stream)
            assert gone is not None and gone.event == "control" and 'href="/"' in gone.data
            with pytest.raises(StopAsyncIteration):
                await next_event(stream)


async def test_visitor_stream_ends_when_support_deletes_the_conversation_and_pings_when_idle(settings):
    async with running_services(settings) as s:
        conversation_id, token = await conversation_with(s, "one")
        async with aclosing(
            visitor_stream(replace(s.streams, ping_seconds=0.05), conversation_id, token, 1, "en", embed=False)
        ) as stream:
            await next_event(stream)  # support's status
            assert await next_event(stream) is None  # idle: a keep-alive is owed
            await s.conversations.clear_all()
            gone = await next_event(stream)
            assert gone is not None and gone.event == "control" and 'id="chat"' in gone.data
            with pytest.raises(StopAsyncIteration):
                await next_event(stream)


async def test_visitor_stream_ends_on_shutdown(settings):
    async with running_services(settings) as s:
        conversation_id, token = await conversation_with(s)
        async with aclosing(visitor_stream(s.streams, conversation_id, token, 0, "en", embed=False)) as stream:
            await next_event(stream)
            s.hub.shutdown()
            with pytest.raises(StopAsyncIteration):
                await next_event(stream)


async def test_admin_stream_hints_delivers_marks_read_and_ends_with_the_session(settings):
    async with running_services(settings) as s:
        conversation_id, _ = await conversation_with(s, "one")
        token = await s.auth.create_session("admin")
        identity = await s.auth.session_identity(token)
        assert identity is not None
        async with aclosing(
            admin_stream(s.streams, identity.session_token_hash, identity.expires_at, conversation_id, 0, "en")
        ) as stream:
            first = [await next_event(stream) for _ in range(2)]
            # On (re)connect: what the cursor misses, and a refresh of the list (it may have missed changes).
            assert [(e.event, e.id) for e in first if e is not None] == [("message", "1"), ("threads", None)]
            # What reached the open conversation on screen is read.
            assert (await s.conversations.get(conversation_id)).unread_count == 0  # type: ignore[union-attr]
            await s.conversations.post(conversation_id, "visitor", "two")
            message = await next_event(stream)
            assert message is not None and (message.event, message.id) == ("message", "2")
            hints = [await next_event(stream) for _ in range(2)]  # paced: at most every HINT_SECONDS
            assert [e.event for e in hints if e is not None] == ["notify", "threads"]
            await s.auth.end_session(token)
            rest = [e async for e in stream]
            assert all(e is not None and e.event in {"notify", "threads"} for e in rest)
