"""What a stream sends besides messages, live only: the other side's typing indicator and read receipts (SPEC §10).

Both are events without an SSE id, so a reconnect never replays them and a stream's cursor (the exactly-once
replay of messages, app/services/streams.py) never moves for them. The indicator is cleared by the stream itself;
read-receipt writes are spaced out per stream.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Protocol

from app.services.realtime import LIVE_ONLY, Event
from app.services.receipts import Receipts

RECEIPT_SECONDS = 1.0  # a stream marks what it showed of the other side as seen at most this often
TYPING_SECONDS = 6.0  # a typing indicator is cleared this long after the last typing event


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event: its name, its data (HTML, or "1" for a hint) and its id (a sequence number)."""

    event: str
    data: str
    id: str | None = None


class LiveFragments(Protocol):
    """The partials LiveOnly sends (app/services/streams.py's Fragments)."""

    def typing(self, sender: str, preview: str, lang: str) -> str: ...
    def seen(self, message_id: str, lang: str) -> str: ...


class LiveOnly:
    """A stream's typing indicator and read receipts from the other side (`other`): id-less events, never
    replayed. The indicator is cleared (an empty `typing`) TYPING_SECONDS after the last typing event, or at once
    when that side's message arrives."""

    def __init__(self, fragments: LiveFragments, other: str, lang: str) -> None:
        self.fragments = fragments
        self.other = other
        self.lang = lang
        self.typing_until: float | None = None

    def events(self, events: list[Event], conversation_id: int, moment: float) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for e in events:
            if e.kind not in LIVE_ONLY or e.sender != self.other or e.conversation_id != conversation_id:
                continue
            if e.kind == "typing":
                self.typing_until = moment + TYPING_SECONDS
                out.append(StreamEvent(event="typing", data=self.fragments.typing(e.sender, e.text, self.lang)))
            elif e.text.isdigit():
                out.append(StreamEvent(event="read", data=self.fragments.seen(e.text, self.lang)))
        return out

    def cleared(self, moment: float, message_arrived: bool) -> StreamEvent | None:
        """The empty `typing` that clears the indicator, when it is due."""
        if self.typing_until is None or (moment < self.typing_until and not message_arrived):
            return None
        self.typing_until = None
        return StreamEvent(event="typing", data="")

    def wait_seconds(self, moment: float, otherwise: float) -> float:
        return otherwise if self.typing_until is None else max(0.0, min(otherwise, self.typing_until - moment))


class ReceiptDue:
    """A stream's read-receipt writes: at most one per RECEIPT_SECONDS; one that is owed goes when its time comes
    (so a burst of messages costs one write a second, not one per message)."""

    def __init__(self, receipts: Receipts | None) -> None:
        self.receipts = receipts
        self.owed = False
        self.at = -RECEIPT_SECONDS

    def note(self, shown: bool) -> None:
        """`shown`: a message of the other side reached this stream."""
        self.owed = self.owed or (shown and self.receipts is not None)

    async def write_if_due(self, moment: float, conversation_id: int | None, reader: str) -> None:
        if not self.owed or moment - self.at < RECEIPT_SECONDS or self.receipts is None:
            return
        self.owed, self.at = False, moment
        if conversation_id is not None:
            with contextlib.suppress(Exception):  # the database away: the next page load marks it
                await self.receipts.saw(conversation_id, reader, check=False)

    def wait_seconds(self, moment: float, otherwise: float) -> float:
        return otherwise if not self.owed else max(0.0, min(otherwise, self.at + RECEIPT_SECONDS - moment))
