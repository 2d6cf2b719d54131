"""Labels on conversations (SPEC §10): agents tag a conversation (`billing`, `vip`, `iade`) and filter the list by
one (`/admin?label=`, `/api/threads?label=`; the filter is a condition of the list's one query, app/services/status.py
`ThreadFilter`).

A label is 1-30 letters (any script), digits, `-` or `_`, trimmed and lower-cased (Turkish `İ` becomes `i`); a
conversation has at most MAX_LABELS. Adding one it already has, or removing one it has not, changes nothing. Table
`conversation_label`, unique per (conversation, label); plain text (support's own words), kept by backups and
deleted with the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.models import ConversationLabel
from app.services.realtime import Broker, Event, publish_now

MAX_LABELS = 20
LABEL_MAX = 30
ACTIONS = ("add", "remove")
_LABEL = re.compile(r"[\w-]{1,30}")  # \w: letters and digits of any script, and _
FILTER_SQL = "EXISTS (SELECT 1 FROM conversation_label l WHERE l.conversation = c.id AND l.label = {})"


class LabelRefused(ValueError):
    """Nothing changed; `code` is the i18n key after `error.`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean(label: str | None) -> str:
    """The label as stored; LabelRefused(`label.bad`) unless it is 1-30 letters, digits, - or _."""
    cleaned = (label or "").strip().replace("İ", "i").lower()
    if not _LABEL.fullmatch(cleaned):
        raise LabelRefused("label.bad")
    return cleaned


async def of(conversation_id: int) -> list[str]:
    """The conversation's labels, alphabetically."""
    return (await for_conversations([conversation_id])).get(conversation_id, [])


async def for_conversations(ids: Iterable[int]) -> dict[int, list[str]]:
    """The labels of each conversation (one query for a page of the list), alphabetically."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await (
        ConversationLabel.select(ConversationLabel.conversation, ConversationLabel.label)
        .where(ConversationLabel.conversation.is_in(wanted))
        .order_by(ConversationLabel.label)
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["conversation"], []).append(row["label"])
    return found


async def change(broker: Broker, conversation_id: int, label: str | None, action: str | None) -> list[str]:
    """Add or remove a label (the caller checked that the conversation exists); the labels afterwards. Raises
    LabelRefused: `label.action`, `label.bad`, `label.too_many` (the 21st)."""
    if action not in ACTIONS:
        raise LabelRefused("label.action")
    cleaned = clean(label)
    current = await of(conversation_id)
    mine = (ConversationLabel.conversation == conversation_id) & (ConversationLabel.label == cleaned)
    if action == "remove":
        if cleaned not in current:
            return current
        await ConversationLabel.delete().where(mine)
    else:
        if cleaned in current:
            return current
        if len(current) >= MAX_LABELS:
            raise LabelRefused("label.too_many")
        try:
            await ConversationLabel.insert(ConversationLabel(conversation=conversation_id, label=cleaned))
        except Exception:  # another agent added the same one meanwhile (the unique index): it is there
            if not await ConversationLabel.exists().where(mine):
                raise
    await publish_now(broker, [Event("thread", conversation_id)])  # the lists show the chips
    return await of(conversation_id)
