"""Who wrote a message: the agent's display name, looked up for a batch of messages at once, and whether a message
starts a new group of bubbles (its writer is not the previous message's)."""

from __future__ import annotations

from typing import Any

from app.models import Agent, Message

Writer = tuple[str, str]  # (sender, author username or "")


async def author_names(usernames: set[str]) -> dict[str, str]:
    """Display names of the agents who wrote messages, by username (none asked: no query)."""
    if not usernames:
        return {}
    rows = await Agent.select(Agent.username, Agent.display_name).where(Agent.username.is_in(sorted(usernames)))
    return {row["username"]: row["display_name"] for row in rows}


def writer(row: dict[str, Any]) -> Writer:
    return row["sender"], row.get("author") or ""


async def previous_writer(conversation_id: int, seq: int) -> Writer | None:
    """The writer of the conversation's last message before `seq` (None: it is the first still kept)."""
    row = await (
        Message.select(Message.sender, Message.author)
        .where((Message.conversation == conversation_id) & (Message.seq < seq))
        .order_by(Message.seq, ascending=False)
        .first()
    )
    return writer(row) if row else None


async def last_writer(conversation_id: int) -> tuple[int, Writer] | None:
    """The conversation's newest message's seq and writer, read before a new message takes the row lock."""
    row = await (
        Message.select(Message.seq, Message.sender, Message.author)
        .where(Message.conversation == conversation_id)
        .order_by(Message.seq, ascending=False)
        .first()
    )
    return (row["seq"], writer(row)) if row else None


async def writer_before(conversation_id: int, seq: int, last: tuple[int, Writer] | None) -> Writer | None:
    """The writer of the message before `seq`: `last` (read before the row lock) when no message came in between,
    so the lock is held for one query less; otherwise read again under the lock."""
    if last is not None and last[0] == seq - 1:
        return last[1]
    if last is None and seq == 1:
        return None
    return await previous_writer(conversation_id, seq)


async def new_writers(rows: list[dict[str, Any]]) -> list[bool]:
    """For messages of one conversation in seq order: whether each is written by someone other than the message
    before it (two agents answering in turn are two groups, each with its name). One query, for the first."""
    if not rows:
        return []
    before = await previous_writer(rows[0]["conversation"], rows[0]["seq"])
    previous = [before, *(writer(row) for row in rows[:-1])]
    return [p is not None and p != writer(row) for p, row in zip(previous, rows, strict=True)]
