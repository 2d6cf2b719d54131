"""Mail to visitors (SPEC §9): messages built from templates (`compose`), an SMTP client (`SmtpSender`) and the
outbox that sends them after the transaction that caused them commits (`MailOutbox`)."""

from app.services.mail.compose import address, clean_header, compose
from app.services.mail.outbox import MailOutbox
from app.services.mail.smtp import MailError, SmtpSender

__all__ = ["MailError", "MailOutbox", "SmtpSender", "address", "clean_header", "compose"]
