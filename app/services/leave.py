"""Leave a message (SPEC §9, `HIDE_WHEN_AWAY`): while support is away, the widget offers a form — name, email,
message — instead of the live chat. Sending it starts the conversation with the visitor's address and their
message, through the same start and send as the chat, so agents see an ordinary conversation and their answer
reaches the visitor by email (app/services/replies.py)."""

from __future__ import annotations

from collections.abc import Mapping

from app.services.conversations import ThreadView
from app.services.messaging import MessageSender
from app.services.text import TextError, clean_display_name, clean_message
from app.services.visitor_email import check_email
from app.services.visitor_page import VisitorPages


async def leave_message(
    pages: VisitorPages,
    messaging: MessageSender,
    form: Mapping[str, str | None],
    lang: str,
    *,
    ip: str = "",
    **source: str | None,
) -> tuple[ThreadView, str]:
    """The new conversation and the visitor's token, from the form (`display_name`, `email`, `text`, and the bot
    checks' fields, as the start form). Every field is checked first (TextError: nothing is created); the email is
    required here."""
    clean_display_name(form.get("display_name"))
    if check_email(form.get("email")) is None:
        raise TextError("email_missing")
    message = clean_message(form.get("text"))
    conversation, token = await pages.start(form, lang, ip=ip, **source)
    await messaging.send(conversation.id, "visitor", message)
    return conversation, token
