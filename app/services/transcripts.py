"""Transcripts of a conversation (SPEC §9, §14): plain text (a download) or a printable HTML page, both drawn by
templates (app/templates/transcripts/). Agents' private notes (sender `note`) are never in a transcript;
attachments are links to /media/<id>, which keeps its access check (the conversation's visitor or an agent).

Who may read one:
- the visitor, with the cookie of their conversation (`GET /chat/transcript`);
- the visitor whose chat just ended (ending revokes the cookie): the ended page links with a signed token bound to
  the conversation, valid `LINK_SECONDS`;
- agents, for any conversation (`GET /admin/threads/<id>/transcript`).
A refusal says why: 400 unknown format, 403 no conversation or a forged token, 410 an expired token or a
conversation deleted since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from app.clock import now
from app.i18n import translator
from app.services import notes
from app.services.branding import Brand
from app.services.conversations import ConversationService, MessageView, ThreadView
from app.services.crypto import Signer
from app.services.visitor_names import display_name

LINK_SECONDS = 3600  # the ended page's transcript links
FORMATS = ("text", "html")
BATCH = 500  # messages read per query


class TranscriptRefused(Exception):
    """Why no transcript: `status` (400, 403, 404, 410) and `code`, the i18n key after `error.`."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class RenderedTranscript:
    body: str
    media_type: str
    filename: str
    as_download: bool  # text: Content-Disposition attachment; html: a page to read and print


class Transcripts:
    def __init__(self, conversations: ConversationService, jinja: Environment, secret_key: str, brand: Brand) -> None:
        self._conversations = conversations
        self._brand = brand  # the workspace's site name heads every transcript
        self._jinja = jinja
        self._signer = Signer(secret_key, "transcript")

    # -- the ended page's link -------------------------------------------------------------------------

    def link_token(self, conversation_id: int) -> str:
        """A token that reads this conversation's transcript for LINK_SECONDS, cookie or not."""
        return self._signer.sign(f"{conversation_id}-{int(now()) + LINK_SECONDS}")

    def _conversation_of_token(self, token: str) -> int:
        value = self._signer.unsign(token)
        conversation, _, expires = (value or "").partition("-")
        if not conversation.isdigit() or not expires.isdigit():
            raise TranscriptRefused(403, "transcript_forbidden")
        if int(expires) < now():
            raise TranscriptRefused(410, "transcript_expired")
        return int(conversation)

    # -- the two ways in (one per user action) ---------------------------------------------------------

    async def for_visitor(
        self, visitor_token: str | None, link_token: str | None, fmt: str, *, lang: str, base_url: str
    ) -> RenderedTranscript:
        """The visitor's own conversation: by the ended page's `link_token` when given, else by their cookie's
        `visitor_token`."""
        _check_format(fmt)
        thread = await self.visitor_thread(visitor_token, link_token)
        return await self.render(thread, fmt, lang=lang, base_url=base_url, viewer="visitor")

    async def visitor_thread(self, visitor_token: str | None, link_token: str | None) -> ThreadView:
        """The conversation a visitor may read: by the ended page's `link_token` when given, else by their
        cookie's `visitor_token`; TranscriptRefused (403, 410) otherwise."""
        if link_token:
            thread = await self._conversations.get(self._conversation_of_token(link_token))
            if thread is None:
                raise TranscriptRefused(410, "transcript_gone")
            return thread
        thread = await self._conversations.by_visitor_token(visitor_token) if visitor_token else None
        if thread is None:
            raise TranscriptRefused(403, "transcript_forbidden")
        return thread

    async def for_agent(self, conversation_id: int, fmt: str, *, lang: str, base_url: str) -> RenderedTranscript:
        _check_format(fmt)
        thread = await self._conversations.get(conversation_id)
        if thread is None:
            raise TranscriptRefused(404, "not_found")
        return await self.render(thread, fmt, lang=lang, base_url=base_url, viewer="admin")

    # -- rendering -------------------------------------------------------------------------------------

    async def messages(self, conversation_id: int) -> list[MessageView]:
        """Every message a visitor may see, oldest first."""
        found: list[MessageView] = []
        before: int | None = None
        while True:
            page, more = await self._conversations.page(conversation_id, before, limit=BATCH)
            found[:0] = page
            if not more or not page:
                break
            before = page[0].seq
        return notes.for_visitor(found)

    async def render(
        self, thread: ThreadView, fmt: str, *, lang: str, base_url: str, viewer: str = "visitor"
    ) -> RenderedTranscript:
        """`thread` as `fmt` ("text" or "html") in `lang`, read by `viewer` ("visitor" or "admin": whose messages
        are "mine"); relative attachment links are made absolute with `base_url` (Sohbet's own origin)."""
        _check_format(fmt)
        context = await self.context(thread, lang=lang, base_url=base_url, viewer=viewer)
        template = "transcripts/transcript.txt" if fmt == "text" else "transcripts/transcript.html"
        body = self._jinja.get_template(template).render(context)
        stem = f"sohbet-transcript-{thread.id}"
        if fmt == "text":
            return RenderedTranscript(body, "text/plain; charset=utf-8", f"{stem}.txt", as_download=True)
        return RenderedTranscript(body, "text/html; charset=utf-8", f"{stem}.html", as_download=False)

    async def context(self, thread: ThreadView, *, lang: str, base_url: str, viewer: str = "visitor") -> dict[str, Any]:
        """What the transcript templates (and the transcript mail's) draw."""
        t = translator(lang)
        return {
            "t": t,
            "site_name": self._brand.current.site_name or t("app.name"),
            "lang": lang,
            "thread": thread,
            "display_name": display_name(thread, lang),
            "viewer": viewer,
            "messages": await self.messages(thread.id),
            "base_url": base_url.rstrip("/"),
            "made_at": datetime.fromtimestamp(now(), UTC),
        }


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise TranscriptRefused(400, "transcript_format")
