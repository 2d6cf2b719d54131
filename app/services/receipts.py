"""Read receipts (SPEC §10): "Seen" under the last message the other side has seen.

`conversation.agent_seen_seq` moves to `last_seq` when an agent opens the conversation or their stream shows a
new visitor message; `conversation.visitor_seen_seq` when the visitor's page shows it or their stream shows an
agent's reply. Each is one conditional UPDATE that writes only when it grows (after a read: nothing to write, no
write lock), outside the message's own transaction; when it grew, a live-only `read` event (no SSE id, never
replayed) tells the other side's open screens which message now shows "Seen". A page shows the stored state when
it loads.
"""

from __future__ import annotations

from app.models import Conversation
from app.services.realtime import Broker, Event, publish_now

COLUMNS = {"admin": "agent_seen_seq", "visitor": "visitor_seen_seq"}  # who has seen -> their column
OTHER = {"admin": "visitor", "visitor": "admin"}  # whose messages they see
BEHIND_SQL = "SELECT id FROM conversation WHERE id = {{}} AND {column} < last_seq"
ADVANCE_SQL = "UPDATE conversation SET {column} = last_seq WHERE id = {{}} AND {column} < last_seq RETURNING id"
LAST_SEEN_SQL = (
    "SELECT m.id FROM message m JOIN conversation c ON c.id = m.conversation "
    "WHERE c.id = {{}} AND m.sender = {{}} AND m.seq <= c.{column} ORDER BY m.seq DESC LIMIT 1"
)


class Receipts:
    """What each side has seen of the other's messages."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def saw(self, conversation_id: int, reader: str, *, check: bool = True) -> None:
        """`reader` ("admin": any agent, or "visitor") has seen the conversation up to now. `check`: read first
        (a page load, which usually has nothing new: on SQLite even an UPDATE that matches nothing takes the
        write lock); a stream that has just shown a new message skips it."""
        column = COLUMNS[reader]
        if check and not await Conversation.raw(BEHIND_SQL.format(column=column), conversation_id):
            return
        if not await Conversation.raw(ADVANCE_SQL.format(column=column), conversation_id):
            return
        message_id = await self.last_seen(conversation_id, reader)
        if message_id is not None:
            event = Event("read", conversation_id=conversation_id, sender=reader, text=str(message_id))
            await publish_now(self.broker, [event])

    async def last_seen(self, conversation_id: int, reader: str) -> int | None:
        """The id of the newest message of the other side that `reader` has seen (where "Seen" shows), or None."""
        rows = await Conversation.raw(LAST_SEEN_SQL.format(column=COLUMNS[reader]), conversation_id, OTHER[reader])
        return int(rows[0]["id"]) if rows else None
