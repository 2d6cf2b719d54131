"""`sohbet mail-test ADDRESS`: one test mail sent straight through SMTP_URL (not through the outbox), so an operator
sees at once whether the server accepts it and, if not, why."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from app.i18n import translator
from app.services.mail.compose import address, compose
from app.services.mail.smtp import MailError, SmtpSender
from app.settings import Settings
from app.templating import make_jinja


async def send_test_mail(settings: Settings, recipient: str) -> str | None:
    """Send the test mail to `recipient`; None when the server accepted it, else the reason (one line)."""
    if settings.smtp is None:
        return "mail is not configured: set SMTP_URL and MAIL_FROM"
    try:
        valid = validate_email(recipient, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"{recipient!r} is not an email address: {exc}"
    t = translator("en")
    context = {"t": t, "lang": "en", "site_name": t("app.name"), "subject": t("mail.test.subject")}
    message = compose(
        make_jinja(),
        "test",
        context,
        mail_from=settings.mail_from,
        to=address(valid.normalized),
        subject=t("mail.test.subject"),
    )
    try:
        await SmtpSender(settings.smtp, timeout=settings.smtp_timeout_seconds).send(message)
    except MailError as exc:
        return f"the SMTP server at {settings.smtp.host}:{settings.smtp.port} did not accept it: {exc.reason}"
    return None
