"""Helpers shared by several route modules (route modules never import each other). No handlers here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.response import Template

from app.i18n import translator
from app.services.messaging import SendRefused
from app.web import is_htmx, language, page, see_other, sohbet

# -- the message composer (visitor and admin forms) -------------------------------------------------------------

TEXT_KEPT = 8000  # characters of a refused post's text put back into the composer


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message was not stored; the composer is shown again with this and the text kept."""

    status: int
    error: str
    text: str


async def submit_composer(
    request: Request[Any, Any, Any], conversation_id: int, sender: str, limiter_key: str
) -> Refusal | None:
    """Read the composer form (text, `client_msg_id`, a file) and send it. None on success — also for a repeat of
    a post already stored, answered as the first one was."""
    form = await request.form()
    text = str(form.get("text") or "")
    # Two inputs may carry a file (the picker and, without a recorder, the voice-note capture): the first wins.
    uploads = [f for f in form.getall("file") if isinstance(f, UploadFile) and f.filename] if "file" in form else []
    try:
        await sohbet(request).messaging.send(
            conversation_id,
            sender,
            text,
            upload=uploads[0] if uploads else None,
            client_msg_id=str(form.get("client_msg_id") or "") or None,
            limiter_key=limiter_key,
        )
    except SendRefused as refused:
        t = translator(language(request))
        return Refusal(refused.status, t(f"error.{refused.code}"), text[:TEXT_KEPT])
    return None


async def respond(
    request: Request[Any, Any, Any],
    refusal: Refusal | None,
    *,
    post_url: str,
    done_url: str,
    full_page: str,
    full_context: Callable[[], Awaitable[dict[str, Any]]],
) -> Response[Any] | Template:
    """The answer to a composer post: for htmx a fresh composer (or the refused one, text kept); without
    JavaScript a 303 to the conversation (or the whole page again with the error)."""
    if refusal is None:
        if is_htmx(request):
            return page(request, "shared/_composer.html", post_url=post_url, autofocus=True)
        return see_other(done_url)
    refused: dict[str, Any] = {"status_code": refusal.status, "error": refusal.error, "text_value": refusal.text}
    if is_htmx(request):
        return page(request, "shared/_composer.html", post_url=post_url, **refused)
    return page(request, full_page, **refused, **await full_context())


# -- end of the composer helpers ---------------------------------------------------------------------------------
