"""A visitor's own data, on request (SPEC §11): GET /chat/export gives a zip with `conversation.json` (the
conversation, every message they can see — never the agents' notes —, their ratings) and `files/` (the attachments
of those messages). Messages that were also relayed to the support team's Telegram chat are kept there by Telegram;
the export says so in its `notes`."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx

from app.models import Attachment, TelegramLink
from app.services.ratings import Ratings
from app.services.storage import LocalStorage, Storage
from app.services.transcripts import Transcripts
from app.services.views import AttachmentView, MessageView, ThreadView

log = logging.getLogger("sohbet.export")
SENDERS = {"visitor": "you", "admin": "support", "system": "system"}
FETCH_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Export:
    data: bytes
    file_name: str


class Exports:
    def __init__(self, transcripts: Transcripts, ratings: Ratings, storage: Storage, local: LocalStorage) -> None:
        self._transcripts = transcripts
        self._ratings = ratings
        self._storage = storage
        self._local = local

    async def for_visitor(self, thread: ThreadView) -> Export:
        """The zip of `thread` for its visitor."""
        messages = await self._transcripts.messages(thread.id)
        stored = await Attachment.select(Attachment.public_id, Attachment.backend, Attachment.storage_key).where(
            Attachment.conversation == thread.id
        )
        attachments = {row["public_id"]: (row["backend"], row["storage_key"]) for row in stored}
        files: dict[str, bytes] = {}
        items = []
        notes = []
        for message in messages:
            item = message_item(message)
            if message.attachment is not None:
                name = f"files/{message.seq}-{safe_name(message.attachment)}"
                data = await self._read(message.attachment, *attachments.get(message.attachment.public_id, ("", "")))
                if data is None:
                    notes.append(f"The file of message {message.seq} could not be read; it is still in the chat.")
                else:
                    files[name] = data
                    item["file"] = name
            items.append(item)
        if await TelegramLink.exists().where(TelegramLink.conversation == thread.id):
            notes.append(
                "Your messages were also relayed to the support team's Telegram chat; copies there are kept by "
                "Telegram and deleted with your conversation where Telegram still allows it."
            )
        ratings = [
            {"score": r.score, "comment": r.comment, "resolution": r.resolution_number}
            for r in await self._ratings.for_conversation(thread.id)
        ]
        document = {
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "conversation": {
                "id": thread.id,
                "display_name": thread.display_name,
                "email": thread.email,
                "started_at": thread.created_at.isoformat(timespec="seconds") if thread.created_at else None,
                "started_on_page": thread.source_url,
                "status": thread.status,
            },
            "messages": items,
            "ratings": ratings,
            "notes": notes,
        }
        data = await anyio.to_thread.run_sync(pack, document, files)
        return Export(data, f"sohbet-conversation-{thread.id}.zip")

    async def _read(self, view: AttachmentView, backend: str, key: str) -> bytes | None:
        try:
            if backend == self._local.backend:
                return await anyio.Path(self._local.path(key)).read_bytes()
            url = self._storage.signed_url(key) if backend == self._storage.backend else None
            if url is None:
                return None
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT) as client:
                response = await client.get(url)
                response.raise_for_status()
                return response.content
        except (OSError, ValueError, httpx.HTTPError) as exc:
            log.warning(json.dumps({"event": "export.file_unreadable", "error": type(exc).__name__}))
            return None


def message_item(message: MessageView) -> dict[str, Any]:
    return {
        "seq": message.seq,
        "from": SENDERS.get(message.sender, message.sender),
        "author": message.author_name or ("Support" if message.sender == "admin" else ""),
        "text": message.text,
        "sent_at": message.created_at.isoformat(timespec="seconds"),
    }


def safe_name(view: AttachmentView) -> str:
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in view.file_name)[-80:].lstrip(".")
    return name or view.kind


def pack(document: dict[str, Any], files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversation.json", json.dumps(document, ensure_ascii=False, indent=2))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
