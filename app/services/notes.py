"""Agents' private notes (SPEC §10): a message with sender `note`, written by an agent, read by agents only.

A note is stored like any message (it takes the conversation's next sequence number, so agents' streams show it
live) but changes nothing a visitor or the conversation list sees: no unread count, no preview, no reopening, no
first response, no Telegram delivery (app/services/conversations.py). Everything a visitor reads — the page, the
stream (which still moves its cursor past a note), the transcripts and their emails, the JSON API — leaves notes
out through `for_visitor`.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.services.conversations import ConversationService
from app.services.text import TextError, clean_message
from app.services.views import MessageView

NOTE = "note"
KINDS = ("reply", NOTE)  # the agent composer's `kind`


class NoteRefused(ValueError):
    """Nothing was stored; `code` is the i18n key after `error.`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def is_private(message: MessageView) -> bool:
    return message.sender == NOTE


def for_visitor(messages: Iterable[MessageView]) -> list[MessageView]:
    """The messages a visitor may see: every one but the notes."""
    return [m for m in messages if not is_private(m)]


def composer_sender(kind: str) -> str:
    """The sender of what the agent composer posts: `admin` (a reply, also when `kind` is empty) or `note`."""
    if kind in ("", "reply"):
        return "admin"
    if kind == NOTE:
        return NOTE
    raise NoteRefused("note_kind")


async def add(conversations: ConversationService, conversation_id: int, text: str, author: str) -> MessageView:
    """A note by `author` (a username) from outside the dashboard (Telegram's /note). Raises NoteRefused for an
    empty or too long text; ConversationNotFound when the conversation is gone."""
    try:
        cleaned = clean_message(text)
    except TextError as error:
        raise NoteRefused(error.code) from None
    return await conversations.post(conversation_id, NOTE, cleaned, author=author)
