"""Who may download an attachment, and from where: the admin (a live session) or the visitor of its conversation;
a local file is read from disk, a Cloudinary one through a short-lived signed URL. Anyone else, a wrong id, or a
file whose storage is no longer configured get the same answer (nothing), so there is nothing to enumerate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.services.auth import AuthService
from app.services.conversations import AttachmentView, ConversationService
from app.services.storage import LocalStorage, Storage


@dataclass(frozen=True, slots=True)
class Download:
    view: AttachmentView
    path: Path | None = None  # a local file
    url: str | None = None  # or where the browser fetches it (a signed URL)


class Downloads:
    def __init__(
        self, conversations: ConversationService, auth: AuthService, storage: Storage, local_storage: LocalStorage
    ) -> None:
        self.conversations = conversations
        self.auth = auth
        self.storage = storage
        self.local_storage = local_storage

    async def find(self, public_id: str, *, admin_session: str | None, visitor_token: str | None) -> Download | None:
        found = await self.conversations.attachment(public_id[:64])
        if found is None:
            return None
        conversation_id, view, backend, key = found
        if await self.auth.session_identity(admin_session) is None:
            visitor_conversation = (
                await self.conversations.id_for_visitor_token(visitor_token) if visitor_token else None
            )
            if visitor_conversation is None or visitor_conversation != conversation_id:
                return None
        if backend == self.local_storage.backend:
            return Download(view, path=self.local_storage.path(key))
        url = self.storage.signed_url(key) if backend == self.storage.backend else None
        return Download(view, url=url) if url else None
