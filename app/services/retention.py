"""Retention: with MESSAGE_RETENTION set, messages older than it are deleted (their files queued for deletion),
conversations with no activity for that long go entirely, and API uploads never sent go after a day."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from app.models import Attachment, Conversation, FileDeletion, Message, Rating
from app.models.db import write_transaction
from app.services.background import BackgroundLoop
from app.services.realtime import Broker, Event

log = logging.getLogger("sohbet.retention")
UNSENT_UPLOAD_SECONDS = 86400
BATCH = 500


def describe(seconds: int, t: Any) -> str:
    """'30 days', '12 hours', '5 minutes' in the viewer's language."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {t(f'unit.{unit}' + ('s' if count != 1 else ''))}"
    return f"{seconds} {t('unit.seconds')}"


class Retention(BackgroundLoop):
    loop_name = "retention"

    def __init__(self, engine: Any, broker: Broker, seconds: int, files_queued: Any) -> None:
        super().__init__()
        self._engine = engine
        self._broker = broker
        self.seconds = seconds
        self._files_queued = files_queued

    @property
    def interval(self) -> float:
        return max(1.0, min(60.0, self.seconds / 4))

    async def start(self) -> None:
        if self.seconds > 0:
            await super().start()

    async def enforce(self, now: datetime | None = None) -> dict[str, int]:
        """One pass; returns what it deleted. Also usable from a command (`sohbet cleanup`)."""
        moment = now or datetime.now(UTC)
        done = {"messages": 0, "conversations": 0, "unsent_uploads": 0}
        unsent_cutoff = moment - timedelta(seconds=UNSENT_UPLOAD_SECONDS)
        async with write_transaction(self._engine):
            unsent = await Attachment.select(Attachment.id, Attachment.backend, Attachment.storage_key).where(
                Attachment.message.is_null() & (Attachment.created_at < unsent_cutoff)
            )
            await self._queue_and_delete(unsent)
            done["unsent_uploads"] = len(unsent)
            if self.seconds > 0:
                cutoff = moment - timedelta(seconds=self.seconds)
                while True:
                    old = await Message.select(Message.id).where(Message.created_at < cutoff).limit(BATCH)
                    if not old:
                        break
                    ids = [row["id"] for row in old]
                    files = await Attachment.select(Attachment.id, Attachment.backend, Attachment.storage_key).where(
                        Attachment.message.is_in(ids)
                    )
                    await self._queue_and_delete(files)
                    await Message.delete().where(Message.id.is_in(ids))
                    done["messages"] += len(ids)
                # A rating's comment is the visitor's words too: it goes with the messages of its time.
                await Rating.update({Rating.comment: ""}).where((Rating.created_at < cutoff) & (Rating.comment != ""))
                idle = await Conversation.select(Conversation.id).where(Conversation.last_activity_at < cutoff)
                if idle:
                    await Conversation.delete().where(Conversation.id.is_in([row["id"] for row in idle]))
                    done["conversations"] = len(idle)
            events = [Event("clear_all")] if done["messages"] or done["conversations"] else []
            await self._broker.publish_in_transaction(events)
        self._broker.after_commit(events)
        if any(done.values()):
            self._files_queued()
            log.info(json.dumps({"event": "retention.deleted", **done}))
        return done

    async def _queue_and_delete(self, files: list[dict[str, Any]]) -> None:
        if not files:
            return
        await FileDeletion.insert(
            *(FileDeletion(backend=f["backend"], storage_key=f["storage_key"], next_try_at=0.0) for f in files)
        )
        await Attachment.delete().where(Attachment.id.is_in([f["id"] for f in files]))

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.enforce()
            except Exception as exc:  # the database may be away; next round
                log.warning(json.dumps({"event": "retention.failed", "error": type(exc).__name__}))
