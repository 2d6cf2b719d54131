"""Typing indicators and read receipts in process (SPEC §10): the live-only events on the wire and their topics,
the typing throttle and the draft preview's cap, and how a stream turns them into id-less events."""

from __future__ import annotations

import asyncio

import pytest

from app.services.live_only import RECEIPT_SECONDS, TYPING_SECONDS, LiveOnly, ReceiptDue
from app.services.realtime import Event, Hub, MemoryBroker, conversation_topic
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
    live = LiveOnly(FakeFragments(), "visitor", "en")
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


def test_receipt_writes_are_spaced_out_and_an_owed_one_still_goes():
    class CountingReceipts:
        def __init__(self) -> None:
            self.calls: list[tuple[int, str, bool]] = []

        async def saw(self, conversation_id: int, reader: str, *, check: bool = True) -> None:
            self.calls.append((conversation_id, reader, check))

    async def scenario() -> None:
        receipts = CountingReceipts()
        due = ReceiptDue(receipts)  # type: ignore[arg-type]
        due.note(False)
        await due.write_if_due(10.0, 5, "admin")
        assert receipts.calls == [] and due.wait_seconds(10.0, 15.0) == 15.0  # nothing shown: nothing owed
        due.note(True)
        await due.write_if_due(10.0, 5, "admin")
        due.note(True)
        await due.write_if_due(10.4, 5, "admin")  # a burst: within the second, owed
        assert receipts.calls == [(5, "admin", False)]
        assert due.wait_seconds(10.4, 15.0) == pytest.approx(RECEIPT_SECONDS - 0.4)
        await due.write_if_due(11.0, 5, "admin")
        assert receipts.calls == [(5, "admin", False)] * 2 and due.wait_seconds(11.0, 15.0) == 15.0
        off = ReceiptDue(None)  # receipts not kept: never owed (no busy loop)
        off.note(True)
        assert off.wait_seconds(0.0, 15.0) == 15.0

    asyncio.run(scenario())
