"""Per-agent unread counts and read marks (SPEC §8): opening a conversation makes it read for that agent only.

A conversation counts its visitor messages twice: `visitor_count` (ever; never goes down) and `unread_count`
(since everyone's last read: a clear, a reply from Telegram, which reads for the whole team). An agent's mark
(`read_mark.seen`) is the `visitor_count` they had read. Their unread count is the smaller of `unread_count` and
`visitor_count - seen`: both only grow with visitor messages, so no write per agent is needed when one arrives,
and the list reads every agent's count in its one query (a LEFT JOIN on the mark).
"""

from __future__ import annotations

from app.models import Conversation

# The reader's unread count of `conversation c`, with `read_mark rm` joined by READ_MARK_JOIN.
UNREAD_SQL = (
    "CASE WHEN rm.seen IS NULL OR c.visitor_count - rm.seen >= c.unread_count "
    "THEN c.unread_count ELSE c.visitor_count - rm.seen END"
)
READ_MARK_JOIN = "LEFT JOIN read_mark rm ON rm.conversation = c.id AND rm.agent = {}"
TOTAL_SQL = (
    f"SELECT COALESCE(SUM({UNREAD_SQL}), 0) AS total FROM conversation c {READ_MARK_JOIN} WHERE c.unread_count > 0"
)
# Nothing to write when the conversation is read for everyone already (its unread_count bounds every agent's).
MARK_SQL = (
    "INSERT INTO read_mark (conversation, agent, seen) "
    "SELECT c.id, CAST({} AS VARCHAR(40)), c.visitor_count FROM conversation c WHERE c.id = {} AND c.unread_count > 0 "
    "ON CONFLICT (agent, conversation) DO UPDATE SET seen = excluded.seen WHERE read_mark.seen < excluded.seen "
    "RETURNING read_mark.id"
)


async def total_unread(agent: str) -> int:
    """Every conversation's unread messages for `agent` (a username), in one query."""
    rows = await Conversation.raw(TOTAL_SQL, agent)
    return int(rows[0]["total"] or 0) if rows else 0


async def mark_read(conversation_id: int, agent: str) -> bool:
    """The conversation is read for `agent` up to now. True when that changed their unread count."""
    return bool(await Conversation.raw(MARK_SQL, agent, conversation_id))
