"""app/services/realtime.py: topics, fan-out, the mailbox that collapses into a resync, stream caps, shutdown,
events on the wire, and (PostgreSQL) two brokers on one database through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio

import pytest

from app.models import Conversation
from app.services.realtime import (
    ADMIN_TOPIC,
    RESYNC,
    SHUTDOWN,
    VISITORS_TOPIC,
    Event,
    Hub,
    MemoryBroker,
    PostgresBroker,
    Subscription,
    conversation_topic,
    publish_now,
    revocation,
    session_topic,
    visitor_topic,
)
from tests.support import BACKEND


def test_each_kind_of_event_reaches_its_topics():
    assert Event("msg", 7).topics() == ("c:7", ADMIN_TOPIC) == Event("clear", 7).topics() == Event("thread", 7).topics()
    assert Event("presence", subject="admin").topics() == (VISITORS_TOPIC,)
    assert Event("presence", 7, subject="c:7").topics() == (ADMIN_TOPIC,)
    assert Event("clear_all").topics() == (ADMIN_TOPIC, VISITORS_TOPIC)
    assert revocation(visitor_topic(7)).topics() == ("v:7",)
    assert Event("resync").topics() == ()
    assert session_topic("ab" * 40) == "s:" + "ab" * 16


def test_the_hub_fans_out_by_topic_once_per_subscription():
    hub = Hub()
    visitor = hub.subscribe([conversation_topic(1), VISITORS_TOPIC])
    admin = hub.subscribe([conversation_topic(1), ADMIN_TOPIC])  # both topics of a msg: still one copy
    stranger = hub.subscribe([conversation_topic(2), VISITORS_TOPIC])
    hub.dispatch(Event("msg", 1, 1, "visitor"))
    assert [e.kind for e in visitor.pending] == ["msg"] and [e.kind for e in admin.pending] == ["msg"]
    assert stranger.pending == []
    assert hub.stream_total() == 3
    hub.unsubscribe(visitor)
    hub.unsubscribe(visitor)  # twice is harmless
    assert hub.stream_total() == 2


def test_shutdown_and_resync_reach_every_stream_once():
    hub = Hub()
    streams = [hub.subscribe([ADMIN_TOPIC, conversation_topic(1)]), hub.subscribe([VISITORS_TOPIC])]
    hub.resync_all()
    hub.shutdown()
    assert all(stream.pending == [RESYNC, SHUTDOWN] for stream in streams)


def test_a_full_mailbox_collapses_into_a_resync_but_keeps_its_endings():
    subscription = Subscription((ADMIN_TOPIC,))
    subscription.push(revocation("s:x"))
    for seq in range(Subscription.MAX_PENDING):
        subscription.push(Event("msg", 1, seq))
    assert subscription.pending[0] == RESYNC and subscription.pending[1].kind == "revoke"
    assert len(subscription.pending) == 2
    subscription.push(SHUTDOWN)
    assert [e.kind for e in subscription.pending] == ["resync", "revoke", "shutdown"]


async def test_a_stream_waits_for_events_or_its_timeout():
    subscription = Subscription((ADMIN_TOPIC,))
    assert await subscription.wait(0.01) == []
    asyncio.get_running_loop().call_later(0.01, subscription.push, Event("thread", 3))
    assert await subscription.wait(5) == [Event("thread", 3)]
    assert subscription.pending == []


def test_caps_admit_streams_until_a_key_is_full_and_slots_give_their_place_back():
    hub = Hub()
    limits = {"conv:1": 2, "ip:a": 3}
    first, second = hub.admit(limits), hub.admit(limits)
    assert first and second and hub.admit(limits) is None
    assert hub.admit({"ip:a": 3}) is not None  # the address still has room
    assert hub.open_streams("conv:1") == 2 and hub.open_streams("ip:a") == 3
    first.release()
    first.release()  # idempotent
    assert hub.open_streams("conv:1") == 1 and hub.admit(limits) is not None
    assert hub.admit(limits) is None


def test_events_cross_processes_as_ids_and_take_back_their_own_message():
    message = type("Stored", (), {"id": 41})()
    event = Event("msg", 5, 9, "admin", at=1234.5, message=message)
    wire = event.to_json()
    assert '"m":41' in wire and "text" not in wire
    elsewhere = Event.from_json(wire)
    assert elsewhere == event and elsewhere.message is None
    mine = {41: message}
    assert Event.from_json(wire, mine).message is message and mine == {}
    assert Event.from_json(revocation("v:5").to_json()) == revocation("v:5")


async def test_the_memory_broker_dispatches_only_after_commit():
    hub = Hub()
    broker = MemoryBroker(hub)
    stream = hub.subscribe([ADMIN_TOPIC])
    await broker.publish_in_transaction([Event("thread", 1)])
    assert stream.pending == []
    broker.after_commit([Event("thread", 1)])
    await publish_now(broker, [Event("thread", 2)])
    assert [e.conversation_id for e in stream.pending] == [1, 2]


@pytest.mark.skipif(BACKEND != "postgres", reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_postgres_brokers_share_events_on_commit_only(database):
    dsn = database.config["dsn"]
    hubs = [Hub(), Hub()]
    brokers = [PostgresBroker(hub, dsn, lambda sql, *args: Conversation.raw(sql, *args)) for hub in hubs]
    for broker in brokers:
        await broker.start()
    try:
        assert all(broker.connected for broker in brokers)
        streams = [hub.subscribe([ADMIN_TOPIC]) for hub in hubs]
        message = type("Stored", (), {"id": 77})()
        async with database.transaction():
            await brokers[0].publish_in_transaction([Event("msg", 3, 1, "visitor", message=message)])
            await asyncio.sleep(0.2)
            assert all(stream.pending == [] for stream in streams)  # nothing before COMMIT
        got = [await stream.wait(5) for stream in streams]
        assert [[(e.kind, e.conversation_id, e.seq) for e in events] for events in got] == [[("msg", 3, 1)]] * 2
        assert got[0][0].message is message and got[1][0].message is None  # only the storing process has it
        with pytest.raises(RuntimeError):
            async with database.transaction():
                await brokers[1].publish_in_transaction([Event("thread", 4)])
                raise RuntimeError("rolled back")
        assert [await stream.wait(0.5) for stream in streams] == [[], []]
    finally:
        for broker in brokers:
            await broker.stop()
