"""The visitor ends their chat. Ending revokes the visitor's token (SPEC §13): from then on their cookie reads
nothing, so whatever the "chat ended" page shows (its transcript) is read here, before the token goes."""

from __future__ import annotations

from dataclasses import dataclass

from app.services import notes
from app.services.conversations import ConversationService, MessageView, ThreadView

TRANSCRIPT_LIMIT = 500  # messages on the ended page; the full transcript is SPEC §9's download
ENDED_NOTE = "chat.ended_note"  # an i18n key: each viewer reads the system message in their language


@dataclass(frozen=True, slots=True)
class EndedChat:
    """What the ended page shows: the conversation as it was just before it ended."""

    conversation: ThreadView
    messages: list[MessageView]  # oldest first
    complete: bool  # False: only the newest TRANSCRIPT_LIMIT messages


async def end_visitor_chat(conversations: ConversationService, token: str | None) -> EndedChat | None:
    """End the conversation bound to the visitor's `token`; None (nothing ended) when no conversation has it."""
    conversation = await conversations.by_visitor_token(token) if token else None
    if conversation is None:
        return None
    messages, more = await conversations.page(conversation.id, limit=TRANSCRIPT_LIMIT)
    await conversations.leave(conversation.id, ENDED_NOTE)
    return EndedChat(conversation, notes.for_visitor(messages), complete=not more)
