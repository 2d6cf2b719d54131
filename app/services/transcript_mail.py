"""A visitor's transcript by email (SPEC §9, POST /chat/transcript/email): the conversation the visitor may read
(their cookie, or the ended page's signed link, app/services/transcripts.py) is drawn by the mail templates
(app/templates/mail/transcript.*: text + HTML, escaped, no remote images; agents' notes are never in it;
attachments are links to /media/<id> under PUBLIC_URL, which keep their access check) and queued through the
mail outbox to the address the visitor left on that conversation.

One mail per conversation per `RATE_SECONDS`: a counter shared by every server process (app/services/counters.py),
bumped in the transaction that queues the mail, so a refused or failed attempt counts nothing. A refusal says why:
403/410 no conversation (as the download), 409 mail is not set up here or no address on file, 429 too soon
(`retry_after` seconds).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from jinja2 import Environment

from app.clock import now
from app.models.db import write_transaction
from app.services import counters
from app.services.mail import MailOutbox, address, compose
from app.services.ratings import Ratings
from app.services.transcripts import TranscriptRefused, Transcripts

log = logging.getLogger("sohbet.mail")

RATE_SECONDS = 60


class TranscriptMailRefused(Exception):
    """Why no mail: `status`, `code` (the i18n key after `error.`) and, for 429, `retry_after` seconds."""

    def __init__(self, status: int, code: str, retry_after: int = 0) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class TranscriptMailer:
    def __init__(
        self,
        engine: Any,
        transcripts: Transcripts,
        outbox: MailOutbox,
        jinja: Environment,
        ratings: Ratings,
        *,
        public_url: str,
        mail_from: str,
    ) -> None:
        self._ratings = ratings
        self._engine = engine
        self._transcripts = transcripts
        self._outbox = outbox
        self._jinja = jinja
        self._public_url = public_url.rstrip("/")
        self._mail_from = mail_from

    @property
    def available(self) -> bool:
        """Whether mail is set up at all (the ended page offers the button only then)."""
        return self._outbox.configured

    async def send(self, visitor_token: str | None, link_token: str | None, *, lang: str, base_url: str) -> str:
        """Queue the transcript to the visitor's address; returns that address. `base_url` (Sohbet's own origin)
        makes the attachment links absolute only when PUBLIC_URL is unset (development)."""
        try:
            thread = await self._transcripts.visitor_thread(visitor_token, link_token)
        except TranscriptRefused as refused:
            raise TranscriptMailRefused(refused.status, refused.code) from None
        if not self._outbox.configured:
            raise TranscriptMailRefused(409, "transcript_mail_off")
        if not thread.email:
            raise TranscriptMailRefused(409, "transcript_no_email")
        context = await self._transcripts.context(thread, lang=lang, base_url=self._public_url or base_url)
        offer = await self._ratings.offer(thread.id)  # SPEC §10: resolved and not rated yet, the mail asks too
        context["rate_url"] = context["base_url"] + "/" if offer is not None and offer.rated is None else ""
        subject = context["t"]("mail.transcript.subject").format(site=context["site_name"])
        message = compose(
            self._jinja,
            "transcript",
            {**context, "subject": subject},
            mail_from=self._mail_from,
            to=address(thread.email, thread.display_name or ""),
            subject=subject,
        )
        async with write_transaction(self._engine):
            count = await counters.increment(f"transcript-mail:{thread.id}", RATE_SECONDS)
            if count.count > 1:
                raise TranscriptMailRefused(429, "transcript_mail_wait", max(1, int(count.expires_at - now()) + 1))
            await self._outbox.queue(message, kind="transcript", conversation_id=thread.id)
        self._outbox.kick()
        log.info(json.dumps({"event": "mail.transcript_queued", "conversation_id": thread.id}))
        return thread.email
