"""The visitor page, built once for both places that show it: the page at `/` and the widget's compact page at
`/embed`. Either the start form (no conversation yet) or the conversation with its newest messages."""

from __future__ import annotations

from typing import Any

from app.i18n import translator
from app.services.conversations import ConversationService, ThreadView
from app.services.presence import ADMIN, PresenceTracker
from app.services.retention import describe
from app.services.streams import display_name

VISITOR_COOKIE_AGE = 30 * 86400


async def visitor_conversation(conversations: ConversationService, token: str | None) -> ThreadView | None:
    """The conversation a visitor's token (from its signed cookie) is bound to, if it still exists."""
    if token is None:
        return None
    return await conversations.by_visitor_token(token)


def retention_notice(retention_seconds: int, lang: str) -> str:
    """'Messages are deleted after 30 days.' when MESSAGE_RETENTION is on, else ''."""
    if not retention_seconds:
        return ""
    t = translator(lang)
    return t("retention.notice").format(duration=describe(retention_seconds, t))


async def chat_context(
    conversations: ConversationService,
    presence: PresenceTracker,
    conversation: ThreadView,
    lang: str,
    *,
    embed: bool,
    retention_seconds: int,
) -> dict[str, Any]:
    """The conversation part of the page (visitor/_chat.html): its newest page of messages, the cursor the page's
    stream starts from, and whether support is online."""
    messages, has_more = await conversations.page(conversation.id)
    return {
        "conversation": conversation,
        "messages": messages,
        "has_more": has_more,
        "display_name": display_name(conversation, lang),
        "cursor": conversation.last_seq,
        "support_online": await presence.is_online(ADMIN),
        "viewer": "visitor",
        "post_url": "/chat/messages" + ("?embed=1" if embed else ""),
        "retention_notice": retention_notice(retention_seconds, lang),
    }


async def visitor_page(
    conversations: ConversationService,
    presence: PresenceTracker,
    conversation: ThreadView | None,
    lang: str,
    *,
    embed: bool,
    retention_seconds: int,
    source: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """The context of visitor/index.html: the conversation, or (none) the start form, which carries `source` (the
    host page and its referrer, already checked) into the new conversation."""
    if conversation is not None:
        return await chat_context(
            conversations, presence, conversation, lang, embed=embed, retention_seconds=retention_seconds
        )
    return {
        "support_online": await presence.is_online(ADMIN),
        "retention_notice": retention_notice(retention_seconds, lang),
        **(source or {}),
    }
