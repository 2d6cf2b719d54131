"""The mail outbox: a mail is a `mail_outbox` row written in the same transaction as whatever causes it (`queue`),
and a background loop sends the rows in id order through SMTP, whichever server process gets there first.

Like the Telegram outbox (app/services/telegram/outbox.py): a row is claimed with a lease before sending (a
conditional UPDATE of `next_try_at`, so of several processes exactly one sends it); a temporary failure (4xx, the
server unreachable, a timeout, a wrong password) keeps the row and backs off through `retry_seconds` (the last
repeats); a permanent refusal of this mail (5xx) sets the row aside (`failed_at`, logged, counted by /health) so the
rest still go. The recipient and the whole message are stored encrypted (they are personal data).

A crash between the server accepting a mail and the row being marked sent is bounded: the mark is the very next
statement after SMTP's final 250, so the window is one UPDATE; if the process dies inside it, the lease (a few SMTP
timeouts) runs out and the row is sent again, once, with the same Message-ID, which mail clients use to fold the
copy into the original. No row is ever sent twice otherwise, and none is lost.
"""

from __future__ import annotations

import base64
import json
import logging
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from app.clock import now
from app.models import MailOutbox as OutboxRow
from app.services.background import BackgroundLoop
from app.services.crypto import Cipher
from app.services.mail.smtp import MailError, SmtpSender

log = logging.getLogger("sohbet.mail")


class MailOutbox(BackgroundLoop):
    """`queue` (always available) and the sender loop (a worker only when SMTP_URL is set)."""

    loop_name = "mail-outbox"
    round_failed_event = "mail.outbox_round_failed"
    IDLE_SECONDS = 30.0  # the loop looks at the queue at least this often (other processes may queue)

    def __init__(
        self, engine: Any, cipher: Cipher, sender: SmtpSender | None, *, retry_seconds: tuple[int, ...]
    ) -> None:
        super().__init__()
        self._engine = engine
        self._cipher = cipher
        self._sender = sender
        self._retry_seconds = retry_seconds or (30,)
        self._lease = (sender.timeout * 4 if sender else 120.0) + 10  # a claimed row is retried if its sender died

    @property
    def configured(self) -> bool:
        return self._sender is not None

    # -- in the causing transaction --------------------------------------------------------------------

    async def queue(self, message: EmailMessage, *, kind: str, conversation_id: int | None = None) -> int:
        """Queue `message`: call it inside the transaction that causes the mail (Piccolo's transaction is the
        task's current one), so the mail exists exactly when what caused it committed. Returns the row id."""
        rows = await OutboxRow.insert(
            OutboxRow(
                conversation=conversation_id,
                kind=kind[:20],
                recipient=self._cipher.encrypt(str(message["To"])),
                body=self._cipher.encrypt(base64.b64encode(message.as_bytes(policy=policy.SMTP)).decode("ascii")),
                next_try_at=0.0,
                created_at=now(),
            )
        ).returning(OutboxRow.id)
        return int(rows[0]["id"])

    # -- the background loop ---------------------------------------------------------------------------

    async def one_round(self) -> float:
        return await self.send_pending()

    @staticmethod
    def _waiting() -> Any:
        return (OutboxRow.sent == False) & OutboxRow.failed_at.is_null()  # noqa: E712

    async def failing(self) -> int:
        """How many mails are waiting after a failed try (the dashboard's banner; 0 without SMTP_URL)."""
        if self._sender is None:
            return 0
        return int(await OutboxRow.count().where(self._waiting() & (OutboxRow.attempts > 0)))

    async def health(self) -> dict[str, Any] | str:
        """/health's `checks.mail`: "not configured", or ok / failing with the counts."""
        if self._sender is None:
            return "not configured"
        trying = self._waiting() & (OutboxRow.attempts > 0)
        failing = await OutboxRow.count().where(trying)
        failed = await OutboxRow.count().where(OutboxRow.failed_at.is_not_null())
        last = await (
            OutboxRow.select(OutboxRow.last_error)
            .where(trying | OutboxRow.failed_at.is_not_null())
            .order_by(OutboxRow.id, ascending=False)
            .first()
        )
        return {
            "status": "failing" if failing or failed else "ok",
            "unsent": await OutboxRow.count().where(self._waiting()),
            "failing": failing,
            "failed": failed,
            "last_error": last["last_error"] if last else "",
        }

    async def send_pending(self) -> float:
        """Send due rows in order until the queue is empty or its head must wait; returns how long to wait."""
        if self._sender is None:
            return self.IDLE_SECONDS
        while True:
            head = await OutboxRow.select().where(self._waiting()).order_by(OutboxRow.id).first()
            if head is None:
                return self.IDLE_SECONDS
            wait = head["next_try_at"] - now()
            if wait > 0:
                return min(wait, self.IDLE_SECONDS)
            claimed = await (
                OutboxRow.update({OutboxRow.next_try_at: now() + self._lease})
                .where((OutboxRow.id == head["id"]) & self._waiting() & (OutboxRow.next_try_at == head["next_try_at"]))
                .returning(OutboxRow.id)
            )
            if not claimed:  # another process took it
                return 0.5
            message = BytesParser(policy=policy.default).parsebytes(
                base64.b64decode(self._cipher.decrypt(head["body"]))
            )
            try:
                await self._sender.send(message)
            except MailError as exc:
                delay = await self._failed(head, exc)
                if delay > 0:
                    return delay
                continue
            await OutboxRow.update(
                {OutboxRow.sent: True, OutboxRow.sent_at: now(), OutboxRow.attempts: head["attempts"] + 1}
            ).where(OutboxRow.id == head["id"])
            log.info(json.dumps({"event": "mail.sent", "outbox_id": head["id"], "kind": head["kind"]}))

    async def _failed(self, row: dict[str, Any], exc: MailError) -> float:
        """Record a failed try; how long the queue waits (0: the row was set aside, go on with the next)."""
        attempts = row["attempts"] + 1
        event = {"outbox_id": row["id"], "kind": row["kind"], "attempts": attempts, "error": exc.reason[:100]}
        if exc.permanent:
            await OutboxRow.update(
                {OutboxRow.attempts: attempts, OutboxRow.last_error: exc.reason, OutboxRow.failed_at: now()}
            ).where(OutboxRow.id == row["id"])
            log.error(json.dumps({"event": "mail.refused", **event}))
            return 0.0
        delay = float(self._retry_seconds[min(attempts - 1, len(self._retry_seconds) - 1)])
        await OutboxRow.update(
            {OutboxRow.attempts: attempts, OutboxRow.last_error: exc.reason, OutboxRow.next_try_at: now() + delay}
        ).where(OutboxRow.id == row["id"])
        log.warning(json.dumps({"event": "mail.send_failed", "retry_in": delay, **event}))
        return delay
