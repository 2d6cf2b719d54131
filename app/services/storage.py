"""Where attachment bytes live. One interface, two backends: local disk (here) and Cloudinary.

Local files get random names under UPLOAD_DIR; they are written to a temporary name and renamed into place, so a
refused or failed upload never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

import anyio


class Storage(Protocol):
    backend: str

    async def save(self, data: bytes, extension: str, kind: str) -> str: ...
    async def delete(self, key: str) -> None: ...
    def public_url(self, key: str) -> str | None: ...


class LocalStorage:
    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("bad storage key")
        return self.root / key

    async def save(self, data: bytes, extension: str, kind: str) -> str:
        key = f"{secrets.token_urlsafe(24)}.{extension}"
        await anyio.to_thread.run_sync(self._write, key, data)
        return key

    def _write(self, key: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{key}.part"
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path(key))
        finally:
            temporary.unlink(missing_ok=True)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.path(key).unlink(missing_ok=True))

    def public_url(self, key: str) -> str | None:
        return None  # served by /media/<public_id> after an access check
