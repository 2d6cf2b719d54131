"""The message composer, shared by the visitor's and the admin's send routes: text and/or a file."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.response import Template

from app.i18n import translator
from app.services.idempotency import valid_client_msg_id
from app.services.storage import StorageUnavailable
from app.services.text import MESSAGE_MAX, TextError, clean_message
from app.services.uploads import UploadRejected
from app.web import is_htmx, language, page, see_other, sohbet

log = logging.getLogger("sohbet.composer")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message was not stored; the composer is shown again with this and the text kept."""

    status: int
    error: str
    text: str


async def submit(
    request: Request[Any, Any, Any], conversation_id: int, sender: str, limiter_key: str
) -> Refusal | None:
    """Read the form, check the text and file, store the message. None on success — also for a repeat of a
    post already stored (same `client_msg_id`): it is answered as the first one was, and nothing is stored."""
    app = sohbet(request)
    t = translator(language(request))
    form = await request.form()
    raw_text = str(form.get("text") or "")
    client_msg_id = str(form.get("client_msg_id") or "") or None
    if client_msg_id is not None:
        if not valid_client_msg_id(client_msg_id):
            return Refusal(422, t("error.bad_client_msg_id"), raw_text[:8000])
        if await app.conversations.by_client_msg_id(conversation_id, client_msg_id) is not None:
            return None
    # Two inputs may carry a file (the picker and, without a recorder, the voice-note capture): the first wins.
    uploads = [f for f in form.getall("file") if isinstance(f, UploadFile) and f.filename] if "file" in form else []
    upload = uploads[0] if uploads else None
    has_file = upload is not None
    try:
        if has_file:
            text = clean_message(raw_text) if raw_text.strip() else ""
            if len(text) > MESSAGE_MAX:
                raise TextError("message_too_long")
        else:
            text = clean_message(raw_text)
    except TextError as error:
        return Refusal(422, t(f"error.{error.code}"), raw_text[:8000])
    stored = None
    if has_file:
        assert isinstance(upload, UploadFile)
        if not await app.upload_limiter.allow(limiter_key):
            return Refusal(429, t("error.rate_limited"), raw_text[:8000])
        data = await upload.read()
        try:
            stored = await app.attachments.accept(data, upload.filename)
        except UploadRejected as rejected:
            log.info(json.dumps({"event": "upload.refused", "reason": rejected.code, "size": len(data)}))
            return Refusal(rejected.status, t(f"error.{rejected.code}"), raw_text[:8000])
        except StorageUnavailable as failure:
            # Nothing was stored (neither the file nor the message); the composer comes back with the text.
            log.warning(
                json.dumps(
                    {"event": "upload.storage_failed", "backend": failure.backend, "reason": failure.reason},
                    ensure_ascii=True,
                )
            )
            return Refusal(503, t("error.storage_unavailable"), raw_text[:8000])
    try:
        message = await app.conversations.post(conversation_id, sender, text, stored, client_msg_id=client_msg_id)
    except BaseException:
        if stored is not None:
            await app.attachments.discard(stored)
        raise
    if message.replayed and stored is not None:  # a copy raced in first: this file belongs to no message
        await app.attachments.discard(stored)
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
    refused = {"status_code": refusal.status, "error": refusal.error, "text_value": refusal.text}
    if is_htmx(request):
        return page(request, "shared/_composer.html", post_url=post_url, **refused)
    return page(request, full_page, **refused, **await full_context())
