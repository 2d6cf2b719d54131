"""Replies by email (SPEC §9): agent replies the visitor did not see reach them by mail, one mail per burst.

`conversation.emailed_seq` is how far the visitor is known to have seen: it moves to `last_seq` whenever a
visitor stream opens or closes (`seen`: what was written while it was open was shown live) and when a mail is
queued. A background loop, in every server process, looks for conversations with an address, not unsubscribed,
not ended, whose visitor has no open stream (presence, across processes) and with agent replies after
`emailed_seq`, the first of them older than EMAIL_AFTER. It claims one with a conditional UPDATE of
`emailed_seq` (of several processes exactly one wins) and queues the mail through the outbox in that same
transaction, so the mail exists exactly when the advance committed. System messages are never mailed.

Only replies written within the last EMAIL_AFTER + `STALE_SECONDS` (a day) are mailed; older unseen ones are
passed over (`emailed_seq` moves past them, no mail). They can only be that old when this loop did not run when
they were due: SMTP_URL was set only now (the loop runs only with it, and without it visitors' streams do not
mark anything seen, so every reply ever written would look unseen), or the server or its database was down for
a day. A visitor is not sent a pile of stale replies (or ones they saw live long ago) all at once.

The mail carries a resume link (`/r/<token>`: the conversation id and an expiry, HMAC-signed with a key derived
from SECRET_KEY, valid 30 days) and a one-click unsubscribe link (RFC 8058; its own signed token). Visitor tokens
are stored hashed, so the link cannot carry the visitor's: opening it accepts a second token for the conversation,
derived from SECRET_KEY, the same on every device (app/services/visitor_tokens.py); the first device keeps its own.
An ended conversation cannot be resumed (ending revokes both for good).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from app.clock import now
from app.i18n import LANGUAGES, translator
from app.models import Conversation, Message
from app.models.db import write_transaction
from app.services.authors import author_names
from app.services.background import BackgroundLoop
from app.services.branding import Brand
from app.services.crypto import Cipher, Signer, token_hash
from app.services.mail import MailOutbox, address, compose
from app.services.presence import PresenceTracker, conversation_subject
from app.services.visitor_tokens import resume_token

log = logging.getLogger("sohbet.mail")

RESUME_SECONDS = 30 * 86400
STALE_SECONDS = 86400  # replies older than EMAIL_AFTER + this are never mailed (see above)
BATCH = 100  # conversations looked at per round

# Visitors with a stream open are left out here (app/services/presence.py's rows), so that however many of them
# there are, they never fill the batch and keep the others waiting.
DUE_SQL = (
    "SELECT id, email, emailed_seq, last_seq, language, display_name FROM conversation "
    "WHERE email IS NOT NULL AND email_stopped = {} AND ended_at IS NULL AND last_seq > emailed_seq "
    "AND NOT EXISTS (SELECT 1 FROM presence WHERE presence.subject = 'c:' || CAST(conversation.id AS TEXT) "
    "AND presence.expires_at > {}) ORDER BY id LIMIT " + str(BATCH)
)


class LinkRefused(Exception):
    """A resume or unsubscribe link that is forged (400) or expired / for a conversation that is gone (410)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class MailSettings:
    public_url: str
    mail_from: str
    email_after: int


class ReplyMailer(BackgroundLoop):
    """The loop that mails unseen replies, and the two links every such mail carries."""

    loop_name = "reply-mail"
    round_failed_event = "mail.replies_round_failed"

    def __init__(
        self,
        engine: Any,
        cipher: Cipher,
        presence: PresenceTracker,
        outbox: MailOutbox,
        jinja: Environment,
        brand: Brand,
        *,
        secret_key: str,
        settings: MailSettings,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._cipher = cipher
        self._presence = presence
        self._outbox = outbox
        self._jinja = jinja
        self._brand = brand
        self._settings = settings
        self._secret_key = secret_key
        self._resume = Signer(secret_key, "resume-link")
        self._unsubscribe = Signer(secret_key, "unsubscribe-link")
        self.IDLE_SECONDS = min(max(settings.email_after / 4, 0.2), 15.0)

    # -- links -----------------------------------------------------------------------------------------

    def resume_token(self, conversation_id: int) -> str:
        return self._resume.sign(f"{conversation_id}-{int(now()) + RESUME_SECONDS}")

    def unsubscribe_token(self, conversation_id: int) -> str:
        return self._unsubscribe.sign(str(conversation_id))

    async def resume(self, token: str) -> tuple[int, str]:
        """GET /r/<token>: (the conversation, the visitor token resume links give for it); LinkRefused when the link
        is not good. The conversation's own token keeps working (app/services/visitor_tokens.py)."""
        value = self._resume.unsign(token)
        conversation_id, _, expiry = (value or "").partition("-")
        if not conversation_id.isdigit() or not expiry.isdigit():
            raise LinkRefused("link_forged", 400)
        if now() > int(expiry):
            raise LinkRefused("link_expired", 410)
        visitor_token = resume_token(self._secret_key, int(conversation_id))
        async with write_transaction(self._engine):
            updated = await (
                Conversation.update({Conversation.resume_token_hash: token_hash(visitor_token)})
                .where((Conversation.id == int(conversation_id)) & Conversation.ended_at.is_null())
                .returning(Conversation.id)
            )
        if not updated:
            raise LinkRefused("link_gone", 410)
        return int(conversation_id), visitor_token

    def unsubscribe_target(self, token: str) -> int:
        """The conversation an unsubscribe link is for; LinkRefused (400) when it is forged."""
        value = self._unsubscribe.unsign(token)
        if value is None or not value.isdigit():
            raise LinkRefused("link_forged", 400)
        return int(value)

    async def unsubscribe(self, token: str) -> None:
        """POST /unsubscribe/<token>: no more mail for that conversation (a deleted one: nothing to stop)."""
        conversation_id = self.unsubscribe_target(token)
        async with write_transaction(self._engine):
            await Conversation.update({Conversation.email_stopped: True}).where(Conversation.id == conversation_id)
        log.info(json.dumps({"event": "mail.unsubscribed", "conversation_id": conversation_id}))

    # -- what the visitor saw --------------------------------------------------------------------------

    async def seen(self, conversation_id: int) -> None:
        """A visitor stream opened or closed: everything up to now was (or is being) shown live."""
        async with write_transaction(self._engine):
            await Conversation.update({Conversation.emailed_seq: Conversation.last_seq}).where(
                Conversation.id == conversation_id
            )

    # -- the loop --------------------------------------------------------------------------------------

    async def one_round(self) -> float:
        await self.send_due()
        return self.IDLE_SECONDS

    async def send_due(self) -> int:
        """Queue the mails that are due; how many were queued."""
        queued = 0
        for row in await Conversation.raw(DUE_SQL, False, now()):
            if await self._presence.is_online(conversation_subject(row["id"])):
                continue  # the stream's close will mark what it showed as seen
            replies = await (
                Message.select(Message.seq, Message.body, Message.author, Message.created_at)
                .where(
                    (Message.conversation == row["id"])
                    & (Message.seq > row["emailed_seq"])
                    & (Message.seq <= row["last_seq"])
                    & (Message.sender == "admin")
                )
                .order_by(Message.seq)
            )
            cutoff = now() - self._settings.email_after - STALE_SECONDS
            fresh = [r for r in replies if r["created_at"].timestamp() >= cutoff]
            if fresh and now() < fresh[0]["created_at"].timestamp() + self._settings.email_after:
                continue
            if len(fresh) < len(replies):
                passed = len(replies) - len(fresh)
                log.info(json.dumps({"event": "mail.replies_stale", "conversation_id": row["id"], "count": passed}))
            queued += await self._claim(row, fresh)
        return queued

    async def _claim(self, row: dict[str, Any], replies: list[dict[str, Any]]) -> int:
        message = None
        try:
            message = await self._message(row, replies) if replies else None
        except Exception as exc:  # one bad row (an address the mail package refuses) must not stop the others
            log.error(
                json.dumps({"event": "mail.replies_failed", "conversation_id": row["id"], "error": type(exc).__name__})
            )
        async with write_transaction(self._engine):
            claimed = await (
                Conversation.update({Conversation.emailed_seq: row["last_seq"]})
                .where((Conversation.id == row["id"]) & (Conversation.emailed_seq == row["emailed_seq"]))
                .returning(Conversation.id)
            )
            if not claimed or message is None:  # another process took it, or only visitor/system messages: nothing
                return 0
            await self._outbox.queue(message, kind="replies", conversation_id=row["id"])
        self._outbox.kick()  # committed: send it now rather than at the outbox's next look
        log.info(json.dumps({"event": "mail.replies_queued", "conversation_id": row["id"], "count": len(replies)}))
        return 1

    async def _message(self, row: dict[str, Any], replies: list[dict[str, Any]]) -> Any:
        lang = row["language"] if row["language"] in LANGUAGES else "en"
        t = translator(lang)
        names = await author_names({r["author"] for r in replies if r["author"]})
        site_name = self._brand.current.site_name or t("app.name")
        base = self._settings.public_url
        unsubscribe_url = f"{base}/unsubscribe/{self.unsubscribe_token(row['id'])}"
        subject = t("mail.replies.subject").format(site=site_name)
        context = {
            "t": t,
            "lang": lang,
            "site_name": site_name,
            "subject": subject,
            "replies": [
                {
                    "name": names.get(r["author"] or "", "") or t("mail.replies.support"),
                    "text": self._cipher.decrypt(r["body"]),
                }
                for r in replies
            ],
            "resume_url": f"{base}/r/{self.resume_token(row['id'])}",
            "unsubscribe_url": unsubscribe_url,
        }
        message = compose(
            self._jinja,
            "replies",
            context,
            mail_from=self._settings.mail_from,
            to=address(self._cipher.decrypt(row["email"]), row["display_name"] or ""),
            subject=subject,
        )
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message
