"""The visitor page, built once for both places that show it: the page at `/` and the widget's compact page at
`/embed`. Either the start form (no conversation yet) or the conversation with its newest messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.i18n import translator
from app.services import notes
from app.services.away import AwayMode, SupportStatus
from app.services.blocks import Blocks
from app.services.conversations import ConversationService, ThreadView
from app.services.presence import ADMIN, PresenceTracker
from app.services.ratings import Ratings
from app.services.receipts import Receipts
from app.services.retention import describe
from app.services.start_guard import StartGuard
from app.services.text import clean_display_name
from app.services.visitor_email import VisitorEmails, check_email
from app.services.visitor_names import display_name

VISITOR_COOKIE_AGE = 30 * 86400


def retention_notice(retention_seconds: int, lang: str) -> str:
    """'Messages are deleted after 30 days.' when MESSAGE_RETENTION is on, else ''."""
    if not retention_seconds:
        return ""
    t = translator(lang)
    return t("retention.notice").format(duration=describe(retention_seconds, t))


class VisitorPages:
    """The visitor's side of a conversation, for the page at `/` and the widget at `/embed` alike: which
    conversation a visitor's token holds, starting one, and what the page shows."""

    def __init__(
        self,
        conversations: ConversationService,
        presence: PresenceTracker,
        retention_seconds: int,
        emails: VisitorEmails,
        guard: StartGuard,
        ratings: Ratings,
        blocks: Blocks,
        *,
        away: AwayMode | None = None,
        receipts: Receipts | None = None,
    ) -> None:
        self.conversations = conversations
        self.guard = guard
        self.ratings = ratings
        self.blocks = blocks
        self.receipts = receipts
        self.emails = emails
        self.presence = presence
        self.retention_seconds = retention_seconds
        self.away = away  # business hours and away mode; None: support is online while an agent is available

    async def support(self) -> dict[str, Any]:
        """The status line's context: `support_online`, and `away` (the away message and expected reply)."""
        status = await self.away.status() if self.away else SupportStatus(await self.presence.is_online(ADMIN))
        return {"support_online": status.online, "away": status}

    async def conversation(self, token: str | None) -> ThreadView | None:
        """The conversation a visitor's token (from its signed cookie) is bound to, if it still exists."""
        if token is None:
            return None
        return await self.conversations.by_visitor_token(token)

    async def start(
        self, form: Mapping[str, str | None], lang: str, *, ip: str = "", **source: str | None
    ) -> tuple[ThreadView, str]:
        """A new conversation and the visitor's bearer token for it, from the start form (`display_name`, `email`,
        and the bot checks' fields: start_guard). Everything is checked first (TextError when not acceptable;
        nothing is created then); no name given, it stays empty: readers see a label in their own language
        (visitor_names). With ASK_EMAIL=never an address is not kept. `ip`, the client's address, is kept
        (encrypted) for blocking (app/services/blocks.py)."""
        self.guard.check(form)
        display_name, email = form.get("display_name"), form.get("email")
        name = clean_display_name(display_name)
        address = check_email(email) if self.emails.ask_mode != "never" else None
        conversation, token = await self.conversations.start(name, lang, email=address, **source)
        if ip:
            await self.blocks.remember_address(conversation.id, ip)
        return conversation, token

    async def chat(self, conversation: ThreadView, lang: str, *, embed: bool) -> dict[str, Any]:
        """The conversation part of the page (visitor/_chat.html): its newest page of messages, the cursor the
        page's stream starts from, and whether support is online."""
        messages, has_more = await self.conversations.page(conversation.id)
        seen_id = None
        if self.receipts is not None:  # what this page shows is seen; "Seen" under what agents have seen
            await self.receipts.saw(conversation.id, "visitor")
            seen_id = await self.receipts.last_seen(conversation.id, "admin")
        return {
            "seen_id": seen_id,
            "conversation": conversation,
            "messages": notes.for_visitor(messages),
            "has_more": has_more,
            "display_name": display_name(conversation, lang),
            "cursor": conversation.last_seq,
            **await self.support(),
            "viewer": "visitor",
            "post_url": "/chat/messages" + ("?embed=1" if embed else ""),
            "retention_notice": retention_notice(self.retention_seconds, lang),
            "ask_email": await self.emails.asks(conversation),
            # The rating form or its thanks, only while resolved: an open conversation's page does not grow.
            "rating": await self.ratings.offer(conversation.id) if conversation.status == "resolved" else None,
        }

    async def page(
        self, conversation: ThreadView | None, lang: str, *, embed: bool, source: dict[str, str | None] | None = None
    ) -> dict[str, Any]:
        """The context of visitor/index.html: the conversation, or (none) the start form, which carries `source`
        (the host page and its referrer, already checked) into the new conversation."""
        if conversation is not None:
            return await self.chat(conversation, lang, embed=embed)
        form = await self.start_form(lang, **(source or {}))
        if embed and self.away is not None and await self.away.hides_chat():
            form["leave_form"] = True  # HIDE_WHEN_AWAY: the widget offers "leave a message" (app/services/leave.py)
        return form

    async def start_form(self, lang: str, **context: Any) -> dict[str, Any]:
        """The start form's context (also when it is shown again with an error)."""
        return {
            **await self.support(),
            "retention_notice": retention_notice(self.retention_seconds, lang),
            "ask_email": await self.emails.asks(),
            "start_stamp": self.guard.stamp(),
            **context,
        }
