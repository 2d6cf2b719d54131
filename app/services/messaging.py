"""Sending a message — text and/or a file — whoever sends it: the visitor's form, the dashboard's form, the JSON
API (a file staged earlier through /api/upload/*) and the admin's replies from Telegram.

One order for every entry: the client id (a repeat of a stored post is answered as the first, nothing read or
stored), the text, the upload rate limit, the file checked and stored, then the post. A file stored for a post
that fails, or that turned out to be a repeat, is deleted again. Refusals are `SendRefused(status, code)`; each
entry turns the code into its own words (`error.<code>` in app.i18n for the forms and the API).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from app.services.attachments import AttachmentService, StoredFile
from app.services.conversations import AttachmentView, ConversationService, MessageView, StagedUploadNotFound
from app.services.idempotency import valid_client_msg_id
from app.services.storage import StorageUnavailable
from app.services.store import SlidingWindowLimiter
from app.services.text import TextError, clean_message
from app.services.uploads import UploadRejected

# The logger the upload events have always been written under (log filters may select on it).
log = logging.getLogger("sohbet.composer")


class SendRefused(Exception):
    """Nothing was stored. `status`: the HTTP status; `code`: the i18n key after `error.` (e.g. `message_empty`,
    `upload.too_large`), or one of the API's own codes (`staged_required`, `staged_unusable`)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


class Upload(Protocol):
    """A file arriving with a post, read only once the text and the rate limit let it through (a form's
    UploadFile; a Telegram download). `read` may raise UploadRejected before reading anything."""

    filename: str

    async def read(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Staged:
    """The file a JSON send refers to: uploaded earlier (`public_id`; None when the request named none usable),
    of `kind` image or audio."""

    public_id: str | None
    kind: str


class MessageSender:
    def __init__(
        self,
        conversations: ConversationService,
        attachments: AttachmentService,
        upload_limiter: SlidingWindowLimiter,
        after_visitor: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._conversations = conversations
        self._attachments = attachments
        self._upload_limiter = upload_limiter
        # Runs after each new visitor message is stored (the away message: app/services/away.py).
        self.after_visitor = after_visitor

    async def send(
        self,
        conversation_id: int,
        sender: str,
        text: str,
        *,
        upload: Upload | None = None,
        staged: Staged | None = None,
        client_msg_id: str | None = None,
        limiter_key: str | None = None,
        on_stored: Callable[[int], Awaitable[None]] | None = None,
        author: str | None = None,
    ) -> MessageView:
        """Store one message; a repeat of `client_msg_id` returns the stored one (`replayed=True`). The upload rate
        limit counts under `limiter_key` (None: not limited). Raises SendRefused; ConversationNotFound when the
        conversation is gone (any file stored for it is deleted). `author`: the agent writing (admin messages)."""
        if client_msg_id is not None:
            if not valid_client_msg_id(client_msg_id):
                raise SendRefused(422, "bad_client_msg_id")
            earlier = await self._conversations.by_client_msg_id(conversation_id, client_msg_id)
            if earlier is not None:
                return earlier
        with_file = upload is not None or staged is not None
        try:
            cleaned = clean_message(text) if text.strip() or not with_file else ""
        except TextError as error:
            raise SendRefused(422, error.code) from None
        staged_id = await self._staged_id(staged) if staged is not None else None
        stored = await self._accept(upload, limiter_key) if upload is not None else None
        try:
            message = await self._conversations.post(
                conversation_id,
                sender,
                cleaned,
                stored,
                staged_id=staged_id,
                on_stored=on_stored,
                client_msg_id=client_msg_id,
                author=author,
            )
        except StagedUploadNotFound:  # another send took the staged file meanwhile
            raise SendRefused(422, "staged_unusable") from None
        except BaseException:
            if stored is not None:
                await self._attachments.discard(stored)
            raise
        if message.replayed and stored is not None:  # a copy raced in first: this file belongs to no message
            await self._attachments.discard(stored)
        if sender == "visitor" and not message.replayed and self.after_visitor is not None:
            await self.after_visitor(conversation_id)
        return message

    async def stage(self, upload: Upload, kind: str, *, limiter_key: str) -> AttachmentView:
        """An upload for a later JSON send (its `/media/<public_id>` is the send's `file_url`); `kind` must be what
        the file turns out to be (else 415 `upload.type`)."""
        stored = await self._accept(upload, limiter_key)
        if stored.checked.kind != kind:
            await self._attachments.discard(stored)
            raise SendRefused(415, "upload.type")
        try:
            return await self._conversations.stage(stored)
        except BaseException:
            await self._attachments.discard(stored)
            raise

    async def _staged_id(self, staged: Staged) -> str:
        if staged.public_id is None:
            raise SendRefused(422, "staged_required")
        found = await self._conversations.attachment(staged.public_id)
        if found is None or found[1].kind != staged.kind:
            raise SendRefused(422, "staged_unusable")
        return staged.public_id

    async def _accept(self, upload: Upload, limiter_key: str | None) -> StoredFile:
        if limiter_key is not None and not await self._upload_limiter.allow(limiter_key):
            raise SendRefused(429, "rate_limited")
        try:
            data = await upload.read()
        except UploadRejected as rejected:  # refused before anything was read
            raise SendRefused(rejected.status, rejected.code) from None
        try:
            return await self._attachments.accept(data, upload.filename)
        except UploadRejected as rejected:
            log.info(json.dumps({"event": "upload.refused", "reason": rejected.code, "size": len(data)}))
            raise SendRefused(rejected.status, rejected.code) from None
        except StorageUnavailable as failure:
            # Nothing was stored (neither the file nor the message).
            log.warning(
                json.dumps(
                    {"event": "upload.storage_failed", "backend": failure.backend, "reason": failure.reason},
                    ensure_ascii=True,
                )
            )
            raise SendRefused(503, "storage_unavailable") from failure
