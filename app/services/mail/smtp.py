"""Talking to the operator's SMTP server (any provider: SMTP_URL) with aiosmtplib, one connection per mail, and
sorting what goes wrong into "try again later" and "refused for good" (the outbox treats them differently)."""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage

import aiosmtplib

from app.setting_values import SmtpConfig

# 5xx replies that say our set-up is wrong (authentication), not that this mail is unwelcome: every mail would get
# them, so they are retried (slowly) until the operator fixes SMTP_URL instead of setting mail aside.
SETUP_CODES = frozenset({530, 534, 535, 538})
_ADDRESS_RE = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")


class MailError(Exception):
    """A mail was not accepted. `permanent`: the server refused this mail for good (5xx); otherwise try again."""

    def __init__(self, reason: str, *, code: int | None = None, permanent: bool = False) -> None:
        # Servers often quote the recipient; an address is personal data, kept out of logs, /health and the row.
        reason = _ADDRESS_RE.sub("[address]", reason)
        super().__init__(reason)
        self.reason = reason[:200]
        self.code = code
        self.permanent = permanent


def _refusal(exc: aiosmtplib.SMTPResponseException) -> MailError:
    code = int(exc.code)
    return MailError(f"{code} {exc.message}".strip(), code=code, permanent=code >= 500 and code not in SETUP_CODES)


class SmtpSender:
    """Sends one message; raises MailError. The password goes to the server only (never into a log or an error)."""

    def __init__(self, config: SmtpConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        config = self.config
        try:
            # aiosmtplib's own timeout covers each command; the outer one bounds a server that trickles bytes.
            async with asyncio.timeout(self.timeout * 3):
                await aiosmtplib.send(
                    message,
                    hostname=config.host,
                    port=config.port,
                    username=config.username or None,
                    password=config.password or None,
                    use_tls=config.use_tls,
                    start_tls=True if config.start_tls else False,
                    timeout=self.timeout,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            if first is None:
                raise MailError("recipient refused") from None
            raise _refusal(first) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _refusal(exc) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            detail = str(exc).replace(config.password, "***") if config.password else str(exc)
            raise MailError(f"{type(exc).__name__}: {detail}".strip()) from None
