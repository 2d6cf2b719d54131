"""Typing indicators and read receipts in process (SPEC §10): the live-only events on the wire and their topics,
the typing throttle and the draft preview's cap, and how a stream turns them into id-less events."""

from __future__ import annotations

import asyncio

from app.services.realtime import Event, Hub, MemoryBroker, conversation_topic
from app.services.streams import TYPING_SECONDS, LiveOnly
from app.services.typing import PREVIEW_CHARS, Typing, preview_of


def test_live_only_events_cross_processes_with_their_text_and_reach_the_conversation_only():
    event = Event("typing", 7, sender="visitor", text="İstanbul <b>")
    assert Event.from_json(event.to_json()) == event
    assert event.topics() == (conversation_topic(7),) == Event("read", 7, sender="admin", text="12").topics()
    assert event.seq == 0  # never a sequence number: a stream's cursor cannot move past it


def test_the_preview_is_folded_and_capped():
    assert preview_of("  a\n\n b\t c ") == "a b c"
    assert len(preview_of("x" * 1000)) == PREVIEW_CHARS
    assert preview_of(None) == ""


def test_typing_is_throttled_per_writer_and_the_draft_goes_only_with_preview_on():
    async def scenario() -> None:
        hub = Hub()
        subscription = hub.subscribe([conversation_topic(1), conversation_topic(2)])
        quiet = Typing(MemoryBroker(hub), preview=False)
        assert await quiet.typing(1, "visitor", "1", "secret")
        assert not await quiet.typing(1, "visitor", "1", "secret")  # within a second: dropped
        assert await quiet.typing(1, "admin", "ayse")  # another writer
        assert await quiet.typing(2, "visitor", "2")  # another conversation
        events = await subscription.wait(timeout=0.1)
        assert [(e.conversation_id, e.sender, e.text) for e in events] == [
            (1, "visitor", ""),
            (1, "admin", ""),
            (2, "visitor", ""),
        ]
        shown = Typing(MemoryBroker(hub), preview=True)
        assert await shown.typing(1, "visitor", "1", "my draft")
        assert await shown.typing(1, "admin", "ayse", "agent draft")
        events = await subscription.wait(timeout=0.1)
        assert [e.text for e in events] == ["my draft", ""]  # an agent's draft: never

    asyncio.run(scenario())


class FakeFragments:
    """The two renderings LiveOnly asks for, as plain strings (the templates are tested through the server)."""

    def typing(self, sender: str, preview: str, lang: str) -> str:
        return f"typing:{sender}:{preview}"

    def seen(self, message_id: str, lang: str) -> str:
        return f"seen:{message_id}"


def test_a_stream_sends_the_other_sides_typing_without_id_and_clears_it_after_six_seconds():
    live = LiveOnly(FakeFragments(), "visitor", "en")  # type: ignore[arg-type]
    events = [
        Event("typing", 1, sender="visitor", text="hi"),
        Event("typing", 1, sender="admin"),  # this side's own: not shown
        Event("typing", 2, sender="visitor"),  # another conversation
        Event("read", 1, sender="visitor", text="42"),
        Event("read", 1, sender="admin", text="41"),
    ]
    sent = live.events(events, 1, moment=100.0)
    assert [(e.event, e.data, e.id) for e in sent] == [("typing", "typing:visitor:hi", None), ("read", "seen:42", None)]
    assert live.wait_seconds(101.0, 15.0) == TYPING_SECONDS - 1
    assert live.cleared(105.0, message_arrived=False) is None
    cleared = live.cleared(100.0 + TYPING_SECONDS, message_arrived=False)
    assert cleared is not None and (cleared.event, cleared.data, cleared.id) == ("typing", "", None)
    assert live.cleared(200.0, message_arrived=True) is None  # nothing shown: nothing to clear
    live.events(events[:1], 1, moment=300.0)
    assert live.cleared(300.5, message_arrived=True) is not None  # their message arrived: cleared at once
    assert live.wait_seconds(301.0, 15.0) == 15.0
