"""Attachments: checking an upload, storing it, and deleting stored files once their messages are gone.

Deleting is two-step so no file is ever forgotten: the transaction that deletes messages also queues their files
in `file_deletion`; a background task then deletes each file from its backend, retrying with backoff (and
logging every failure) until it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass

import anyio

from app.models import FileDeletion
from app.services.realtime import now
from app.services.storage import Storage
from app.services.uploads import CheckedFile, check

log = logging.getLogger("sohbet.attachments")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A checked file that now lives in a storage backend, not yet attached to a message."""

    public_id: str
    checked: CheckedFile
    backend: str
    storage_key: str


class AttachmentService:
    RETRY_SECONDS = (5, 30, 120, 600, 3600)

    def __init__(self, storage: Storage, *, max_image_bytes: int, max_audio_bytes: int, max_pixels: int) -> None:
        self.storage = storage
        self.max_image_bytes = max_image_bytes
        self.max_audio_bytes = max_audio_bytes
        self.max_pixels = max_pixels
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def accept(self, data: bytes, file_name: str | None) -> StoredFile:
        """Check (off the event loop: decoding images is CPU work) and store; raises UploadRejected."""
        checked = await anyio.to_thread.run_sync(
            lambda: check(
                data,
                file_name,
                max_image_bytes=self.max_image_bytes,
                max_audio_bytes=self.max_audio_bytes,
                max_pixels=self.max_pixels,
            )
        )
        key = await self.storage.save(checked.data, checked.extension, checked.kind)
        return StoredFile(secrets.token_urlsafe(18), checked, self.storage.backend, key)

    async def discard(self, stored: StoredFile) -> None:
        """The message could not be saved: the file goes too (or is queued if that fails)."""
        try:
            await self.storage.delete(stored.storage_key)
        except Exception:
            await FileDeletion.insert(FileDeletion(backend=stored.backend, storage_key=stored.storage_key))
            self.kick()

    # -- background deletion -------------------------------------------------------------------------

    def kick(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._delete_forever(), name="sohbet-file-deletions")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def delete_pending(self) -> int:
        """Delete every queued file that is due; returns how many went."""
        due = await FileDeletion.select().where(FileDeletion.next_try_at <= now()).limit(200)
        done = 0
        for row in due:
            if row["backend"] != self.storage.backend:
                continue  # another backend's file (configuration changed): left queued, visible in health
            try:
                await self.storage.delete(row["storage_key"])
            except Exception as exc:
                attempts = row["attempts"] + 1
                delay = self.RETRY_SECONDS[min(attempts - 1, len(self.RETRY_SECONDS) - 1)]
                await FileDeletion.update(
                    {
                        FileDeletion.attempts: attempts,
                        FileDeletion.last_error: type(exc).__name__,
                        FileDeletion.next_try_at: now() + delay,
                    }
                ).where(FileDeletion.id == row["id"])
                log.warning(
                    json.dumps(
                        {
                            "event": "file.delete_failed",
                            "attempts": attempts,
                            "retry_in": delay,
                            "error": type(exc).__name__,
                        }
                    )
                )
                continue
            await FileDeletion.delete().where(FileDeletion.id == row["id"])
            done += 1
        return done

    async def _delete_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 30)
            self._wake.clear()
            try:
                await self.delete_pending()
            except Exception as exc:  # the database may be away; next round
                log.warning(json.dumps({"event": "file.delete_round_failed", "error": type(exc).__name__}))
