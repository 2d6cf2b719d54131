"""Building a mail with the standard library's `email` package: multipart/alternative, a plain-text part and an
HTML part rendered from `app/templates/mail/<name>.txt` and `.html` (the HTML autoescaped, no remote images, no
tracking). Every header value is stripped of CR/LF and other control characters first, so nothing a visitor typed
(a display name, a subject) can add a header; the `email` package then encodes non-ASCII text (RFC 2047)."""

from __future__ import annotations

import re
import secrets
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from jinja2 import Environment

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
SUBJECT_LIMIT = 200
NAME_LIMIT = 80


def clean_header(value: str, limit: int = SUBJECT_LIMIT) -> str:
    """`value` on one line: every run of control characters (CR, LF, tabs...) becomes one space."""
    return " ".join(_CONTROL_RE.sub(" ", value).split())[:limit]


def address(addr_spec: str, display_name: str = "") -> Address:
    """A recipient as a header-safe Address (the display name cleaned; the address was validated on capture)."""
    return Address(display_name=clean_header(display_name, NAME_LIMIT), addr_spec=clean_header(addr_spec, 254))


def _sender(mail_from: str) -> Address:
    display, spec = parseaddr(mail_from)
    return address(spec, display)


def compose(
    jinja: Environment,
    template: str,
    context: dict[str, Any],
    *,
    mail_from: str,
    to: Address,
    subject: str,
) -> EmailMessage:
    """The mail `template` renders for `context`, from MAIL_FROM to `to`, with a Message-ID of our own domain
    (so a copy sent twice is recognisably the same mail)."""
    sender = _sender(mail_from)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = clean_header(subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = f"<{secrets.token_hex(16)}@{sender.domain or 'sohbet.invalid'}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(jinja.get_template(f"mail/{template}.txt").render(context))
    message.add_alternative(jinja.get_template(f"mail/{template}.html").render(context), subtype="html")
    return message
