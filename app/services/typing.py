"""Typing indicators (SPEC §10): "someone is typing" goes to the screens following a conversation as a live-only
event — never stored, never replayed (no SSE id) — at most once a second per writer and conversation.

Browsers post at most every 2 s while typing (app/static/later.js); the throttle here also stops a client that
posts faster. It is per process: with several workers a writer may reach each of them once a second. With
`TYPING_PREVIEW=on` the visitor's draft (its first PREVIEW_CHARS characters, whitespace folded) rides along for
agents; otherwise it is dropped here and never leaves this process.
"""

from __future__ import annotations

import time

from app.services.realtime import Broker, Event, publish_now

THROTTLE_SECONDS = 1.0
PREVIEW_CHARS = 200
KEPT_WRITERS = 10_000  # the throttle forgets the oldest writers beyond this many


class Typing:
    """Who types where, sent on to the conversation's streams."""

    def __init__(self, broker: Broker, *, preview: bool) -> None:
        self.broker = broker
        self.preview = preview
        self._last: dict[tuple[int, str], float] = {}

    async def typing(self, conversation_id: int, sender: str, writer: str, draft: str | None = None) -> bool:
        """`writer` (a visitor's conversation, an agent's username) types in the conversation as `sender`
        ("visitor" or "admin"). False when throttled (nothing sent)."""
        key = (conversation_id, f"{sender}:{writer}")
        moment = time.monotonic()
        if moment - self._last.get(key, -THROTTLE_SECONDS) < THROTTLE_SECONDS:
            return False
        self._last.pop(key, None)
        self._last[key] = moment  # newest last: the oldest are dropped first
        while len(self._last) > KEPT_WRITERS:
            self._last.pop(next(iter(self._last)))
        text = preview_of(draft) if self.preview and sender == "visitor" else ""
        await publish_now(self.broker, [Event("typing", conversation_id=conversation_id, sender=sender, text=text)])
        return True


def preview_of(draft: str | None) -> str:
    """The draft as agents may see it: whitespace folded, at most PREVIEW_CHARS characters."""
    return " ".join((draft or "").split())[:PREVIEW_CHARS]
