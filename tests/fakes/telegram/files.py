"""Files on the fake Telegram: media sent by the bot (uploaded, referenced by file_id, `attach://` or fetched
from a URL; photos checked and resized like Telegram's), files a test adds, getFile and the downloads."""

from __future__ import annotations

import copy
import io
import json
import mimetypes
import re
import secrets
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image

from tests.fakes.telegram.base import FakeTelegramBase
from tests.fakes.telegram.protocol import (
    DOWNLOAD_LIMIT,
    FILE_ID_PREFIX,
    UPLOAD_LIMIT,
    ApiError,
    Call,
    Download,
    StoredFile,
    bad_request,
    no_proxy_opener,
    param_int,
    param_str,
)


class Files(FakeTelegramBase):
    """Stored files, the media of sent messages, getFile and downloads."""

    def add_file(self, data: bytes, *, file_path_hint: str = "file.bin", kind: str = "document") -> tuple[str, str]:
        """Store a file the bot can getFile and download: (file_id, file_unique_id). A `file_path_hint` with a
        folder ("voice/x.oga") keeps it; the extension is kept."""
        folder, _, name = file_path_hint.rpartition("/")
        extension = "." + name.rsplit(".", 1)[1] if "." in name else ""
        stored = self._store_file(data, kind=kind, folder=folder or "documents", extension=extension)
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.file_size}
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self._lock:
            if kind == "photo":
                stored.media = [{**ids, "width": 1280, "height": 960}]
            elif kind == "voice":
                stored.media = {"duration": 1, "mime_type": "audio/ogg", **ids}
            else:
                stored.media = {"file_name": name, "mime_type": mime, **ids}
        return stored.file_id, stored.file_unique_id

    def _store_file(self, data: bytes, *, kind: str, folder: str, extension: str) -> StoredFile:
        with self._lock:
            self._next_file_number += 1
            number = self._next_file_number
            file_id = FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + secrets.token_urlsafe(40)[:52]
            unique = ("AQAD" if kind == "photo" else "AgAD") + secrets.token_urlsafe(12)[:12]
            stored = StoredFile(file_id, unique, data, f"{folder}/file_{number}{extension}", kind)
            self.files[file_id] = stored
            self._files_by_path[stored.file_path] = stored
            return stored

    def _media_for_send(self, call: Call, kind: str) -> Any:
        """The Message field for the uploaded / referenced / fetched file."""
        upload = call.files.get(kind)
        reference = None if upload is not None else param_str(call.params, kind)
        if reference and reference.startswith("attach://"):
            upload = call.files.get(reference.removeprefix("attach://"))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        elif reference and re.match(r"^https?://", reference):
            upload = self._fetch(reference)
        elif reference:
            with self._lock:
                stored = self.files.get(reference)
                if stored is None or stored.media is None:
                    raise bad_request("wrong file identifier/HTTP URL specified")
                if stored.kind != kind:
                    raise bad_request("type of file mismatch")
                return copy.deepcopy(stored.media)
        if upload is None:
            raise bad_request(f"there is no {kind} in the request")
        filename, content_type, data = upload
        if not data:
            raise bad_request("file must be non-empty")
        if kind == "photo":
            return self._photo_sizes(data, strict=self.strict_photos)
        guessed = mimetypes.guess_type(filename)[0] if filename else None
        mime = content_type if content_type and content_type != "application/octet-stream" else guessed
        duration = param_int(call.params, "duration") or 1
        if kind == "voice":
            stored = self._store_file(data, kind="voice", folder="voice", extension=".oga")
            media = {"duration": duration, "mime_type": mime or "audio/ogg"}
        elif kind == "audio":
            extension = "." + filename.rsplit(".", 1)[1] if "." in filename else ".mp3"
            stored = self._store_file(data, kind="audio", folder="music", extension=extension)
            media = {"duration": duration, "file_name": filename or "audio.mp3", "mime_type": mime or "audio/mpeg"}
            for name in ("title", "performer"):
                if call.params.get(name):
                    media[name] = str(call.params[name])
        else:
            extension = "." + filename.rsplit(".", 1)[1] if "." in filename else ""
            stored = self._store_file(data, kind="document", folder="documents", extension=extension)
            media = {"file_name": filename or "file", "mime_type": mime or "application/octet-stream"}
        media.update({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(data)})
        stored.media = media
        return copy.deepcopy(media)

    def _fetch(self, url: str) -> tuple[str, str, bytes]:
        try:
            with no_proxy_opener().open(url, timeout=5) as response:
                data = response.read(UPLOAD_LIMIT + 1)
                content_type = response.headers.get_content_type()
        except (urllib.error.URLError, OSError, ValueError):
            raise bad_request("failed to get HTTP URL content") from None
        if len(data) > UPLOAD_LIMIT:
            raise bad_request("failed to get HTTP URL content")
        return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "file", content_type, data

    def _photo_sizes(self, data: bytes, *, strict: bool) -> list[dict[str, Any]]:
        """A list of PhotoSize, smallest first; the largest is `data` itself. Every size is a stored file."""
        versions: list[tuple[bytes, int, int]] = []
        try:
            with Image.open(io.BytesIO(data)) as picture:
                picture.load()
                width, height = picture.size
                if width + height > 10000 or max(width, height) > 20 * min(width, height):
                    raise bad_request("PHOTO_INVALID_DIMENSIONS")
                for side in (90, 320):
                    small = picture.convert("RGB")
                    small.thumbnail((side, side))
                    output = io.BytesIO()
                    small.save(output, "JPEG")
                    versions.append((output.getvalue(), small.width, small.height))
                    if small.size == picture.size:
                        break
        except ApiError:
            raise
        except Exception:
            if strict:
                raise bad_request("IMAGE_PROCESS_FAILED") from None
            width, height = 1280, 960
            versions = [(data, 90, 68)]
        versions.append((data, width, height))
        sizes = []
        for content, size_width, size_height in versions:
            stored = self._store_file(content, kind="photo", folder="photos", extension=".jpg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(content),
                    "width": size_width,
                    "height": size_height,
                }
            )
        with self._lock:
            for size in sizes:
                self.files[size["file_id"]].media = sizes
        return copy.deepcopy(sizes)

    def _api_get_file(self, call: Call) -> Any:
        file_id = param_str(call.params, "file_id") or ""
        with self._lock:
            stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    def download(self, token: str, file_path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) for GET /file/bot<token>/<file_path>; recorded in `downloads`."""
        token_ok = token == self.token
        script = self._take_script("download") if token_ok else None
        if script is not None:
            status, answer = self._scripted(script)
            body, content_type = json.dumps(answer).encode(), "application/json"
        else:
            with self._lock:
                stored = self._files_by_path.get(file_path) if token_ok else None
            if stored is None or stored.file_size > DOWNLOAD_LIMIT:
                status, content_type = 404, "application/json"
                body = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()
            else:
                status, body, content_type = 200, stored.data, "application/octet-stream"
        with self._lock:
            self.downloads.append(Download(file_path, token_ok, status, len(body) if status == 200 else 0))
        return status, body, content_type
