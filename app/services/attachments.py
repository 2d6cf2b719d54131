"""Attachments: checking an upload, storing it, and deleting stored files once their messages are gone.

Deleting is two-step so no file is ever forgotten: the transaction that deletes messages also queues their files
in `file_deletion`; a background task then deletes each file from its backend, retrying with backoff (and
logging every failure) until it is gone.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass

import anyio

from app.clock import now
from app.models import FileDeletion
from app.services.background import BackgroundLoop
from app.services.storage import Storage, StorageUnavailable
from app.services.uploads import CheckedFile, ImageBudget, PendingImage, inspect, reencode

log = logging.getLogger("sohbet.attachments")

# Images decoded at once in this process. A decode holds up to 64 MB (ImageBudget) and a core: without a bound,
# anyio's 40 worker threads let a few visitors take the server from 110 MB to 1.3 GB. Waiting for a turn
# happens on the event loop, not in a worker thread.
IMAGE_DECODES = 2
_decodes = anyio.CapacityLimiter(IMAGE_DECODES)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A checked file that now lives in a storage backend, not yet attached to a message."""

    public_id: str
    checked: CheckedFile
    backend: str
    storage_key: str


class AttachmentService(BackgroundLoop):
    loop_name = "file-deletions"

    RETRY_SECONDS = (5, 30, 120, 600, 3600)
    IDLE_SECONDS = 30.0  # the deletion loop looks at the queue at least this often

    def __init__(
        self,
        storage: Storage,
        *,
        max_image_bytes: int,
        max_audio_bytes: int,
        max_pixels: int,
        retry_seconds: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        self.storage = storage
        self.retry_seconds = tuple(retry_seconds or self.RETRY_SECONDS)
        self.max_image_bytes = max_image_bytes
        self.max_audio_bytes = max_audio_bytes
        self.budget = ImageBudget(frame_pixels=max_pixels)

    async def accept(self, data: bytes, file_name: str | None) -> StoredFile:
        """Check (off the event loop: decoding images is CPU work) and store.

        The header checks run first, so an image over budget is refused without waiting for a decode slot.
        Raises UploadRejected (the file) or StorageUnavailable (the backend); after the latter nothing is kept:
        an upload that may have arrived anyway is queued for deletion."""
        checked = await anyio.to_thread.run_sync(
            lambda: inspect(
                data,
                file_name,
                max_image_bytes=self.max_image_bytes,
                max_audio_bytes=self.max_audio_bytes,
                budget=self.budget,
            )
        )
        if isinstance(checked, PendingImage):
            checked = await anyio.to_thread.run_sync(reencode, checked, limiter=_decodes)
        try:
            key = await self.storage.save(checked.data, checked.extension, checked.kind)
        except StorageUnavailable as failure:
            if failure.maybe_stored_key:
                try:
                    await self._queue(failure.maybe_stored_key)
                except Exception as exc:  # the database too: logged, the upload still fails clearly
                    log.warning(json.dumps({"event": "file.queue_failed", "error": type(exc).__name__}))
            raise
        return StoredFile(secrets.token_urlsafe(18), checked, self.storage.backend, key)

    async def discard(self, stored: StoredFile) -> None:
        """The message could not be saved: the file goes too (or is queued if that fails)."""
        try:
            await self.storage.delete(stored.storage_key)
        except Exception:
            await self._queue(stored.storage_key, stored.backend)

    async def _queue(self, storage_key: str, backend: str | None = None) -> None:
        await FileDeletion.insert(FileDeletion(backend=backend or self.storage.backend, storage_key=storage_key))
        self.kick()

    # -- background deletion -------------------------------------------------------------------------

    async def delete_pending(self) -> int:
        """Delete every queued file that is due; returns how many went."""
        # Another backend's files (the configuration changed) are left queued: they must not crowd ours out.
        due = await (
            FileDeletion.select()
            .where((FileDeletion.next_try_at <= now()) & (FileDeletion.backend == self.storage.backend))
            .order_by(FileDeletion.next_try_at)
            .limit(200)
        )
        done = 0
        for row in due:
            try:
                await self.storage.delete(row["storage_key"])
            except Exception as exc:
                attempts = row["attempts"] + 1
                delay = self.retry_seconds[min(attempts - 1, len(self.retry_seconds) - 1)]
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
                            "backend": self.storage.backend,
                            "attempts": attempts,
                            "retry_in": delay,
                            "error": type(exc).__name__,
                            "reason": exc.reason if isinstance(exc, StorageUnavailable) else "",
                        }
                    )
                )
                continue
            await FileDeletion.delete().where(FileDeletion.id == row["id"])
            done += 1
        return done

    async def seconds_to_next(self) -> float:
        """How long until this backend's next queued deletion is due (IDLE_SECONDS at most)."""
        row = await (
            FileDeletion.select(FileDeletion.next_try_at)
            .where(FileDeletion.backend == self.storage.backend)
            .order_by(FileDeletion.next_try_at)
            .first()
        )
        if row is None:
            return self.IDLE_SECONDS
        return min(self.IDLE_SECONDS, max(0.0, row["next_try_at"] - now()))

    async def one_round(self) -> float:
        await self.delete_pending()
        return await self.seconds_to_next()  # a retry falls due sooner than the idle round: wake up for it
