"""Where attachment bytes live. One interface, two backends: local disk and Cloudinary; `make_storage()` picks.

Local files get random names under UPLOAD_DIR; they are written to a temporary name and renamed into place, so a
refused or failed upload never leaves a half-written file behind.

Cloudinary uploads are signed (the SDK signs every call with the API secret), images as resource type `image`,
audio as `video`, each under a random public id, as delivery type `authenticated`: Cloudinary serves them only
through a signed URL, so a file's address never works for someone who merely learnt it. Pages link
`/media/<id>`, which checks access like a local file and then redirects to a download URL signed for
`DOWNLOAD_SECONDS` (the Admin API's `download` endpoint, `private_download_url(..., expires_at=...)`): Cloudinary's
signed delivery URLs (`s--…--`) never expire, and proxying the bytes would put every download through our
process. The SDK is synchronous, so every call runs in a worker thread. Its configuration is passed with every
call (never taken from the process environment): the API base (`upload_prefix`, a loopback fake in tests) and the
delivery host (`secure_distribution`). A storage key is `authenticated/<resource_type>/<public_id>.<format>`
(`<resource_type>/<public_id>.<format>` for files uploaded public before; they stay public at Cloudinary, but
pages link them through `/media/` too), so deleting and building the URLs need nothing else.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from pathlib import Path
from typing import Any, Protocol

import anyio

from app.private_files import create_private, private_dir
from app.settings import CloudinaryConfig, Settings


class StorageUnavailable(RuntimeError):
    """The backend could not store or delete a file (down, refused our credentials, answered nonsense).

    `reason` is safe to log (no secret). `maybe_stored_key` is set when an upload may have reached the backend
    although it failed (no answer, an unreadable answer): that key should be deleted to leave nothing behind.
    """

    def __init__(self, backend: str, action: str, reason: str, *, maybe_stored_key: str | None = None) -> None:
        super().__init__(f"{backend} {action} failed: {reason}")
        self.backend = backend
        self.action = action
        self.reason = reason
        self.maybe_stored_key = maybe_stored_key


class Storage(Protocol):
    backend: str

    async def save(self, data: bytes, extension: str, kind: str) -> str: ...
    async def delete(self, key: str) -> None: ...
    def public_url(self, key: str) -> str | None: ...
    def signed_url(self, key: str) -> str | None: ...


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
        private_dir(self.root)
        temporary = self.root / f".{key}.part"
        try:
            with create_private(temporary) as handle:
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

    def signed_url(self, key: str) -> str | None:
        return None  # the bytes come from disk


class CloudinaryStorage:
    """Files at Cloudinary, through the `cloudinary` SDK."""

    backend = "cloudinary"
    RESOURCE_TYPES = {"image": "image", "audio": "video"}
    KEY_RE = re.compile(r"(?:(authenticated)/)?(image|video)/([A-Za-z0-9_-]{1,200})\.([a-z0-9]{1,8})")
    DELIVERY_TYPE = "authenticated"
    DOWNLOAD_SECONDS = 300
    UPLOAD_TIMEOUT = 60.0
    DELETE_TIMEOUT = 30.0

    def __init__(self, config: CloudinaryConfig) -> None:
        # Imported here, not at module level: the SDK parses CLOUDINARY_URL from os.environ when imported and
        # raises on a bad one, which must not pre-empt our own (clearer) settings error.
        import cloudinary.exceptions
        import cloudinary.uploader
        import cloudinary.utils

        self._sdk_error = cloudinary.exceptions.Error
        self._uploader = cloudinary.uploader
        self._utils = cloudinary.utils
        self.config = config
        self._api: dict[str, Any] = {
            "cloud_name": config.cloud_name,
            "api_key": config.api_key,
            "api_secret": config.api_secret,
            "upload_prefix": config.upload_prefix,
            "oauth_token": None,  # always signed with the API secret
            "signature_algorithm": "sha1",
            "signature_version": 2,
        }
        self._delivery: dict[str, Any] = {
            "cloud_name": config.cloud_name,
            "secure": True,
            "secure_distribution": config.secure_distribution or None,
            "private_cdn": config.private_cdn,
            "cdn_subdomain": False,
            "secure_cdn_subdomain": False,
            "sign_url": False,
            "auth_token": False,
            "shorten": False,
            "use_root_path": False,
            "force_version": False,
        }

    # -- keys ------------------------------------------------------------------------------------------------

    def parse_key(self, key: str) -> tuple[str, str, str]:
        """(resource_type, public_id, format) of a storage key; ValueError for anything else."""
        match = self.KEY_RE.fullmatch(key or "")
        if not match:
            raise ValueError("bad storage key")
        return match.group(2), match.group(3), match.group(4)

    def delivery_type(self, key: str) -> str:
        """`authenticated` (signed URLs only) or `upload` (public: files stored before authenticated delivery)."""
        match = self.KEY_RE.fullmatch(key or "")
        return "authenticated" if match and match.group(1) else "upload"

    def public_url(self, key: str) -> str | None:
        return None  # every file goes through /media/<public_id> and its access check

    def signed_url(self, key: str) -> str | None:
        """A URL of the file for one authorised request: signed and valid `DOWNLOAD_SECONDS`."""
        try:
            resource_type, public_id, fmt = self.parse_key(key)
        except ValueError:
            return None
        if self.delivery_type(key) == "upload":  # public at Cloudinary already
            url, _ = self._utils.cloudinary_url(
                public_id, resource_type=resource_type, type="upload", format=fmt, **self._delivery
            )
            return str(url)
        return str(
            self._utils.private_download_url(
                public_id,
                fmt,
                resource_type=resource_type,
                type=self.DELIVERY_TYPE,
                expires_at=int(time.time()) + self.DOWNLOAD_SECONDS,
                **self._api,
            )
        )

    # -- calls -----------------------------------------------------------------------------------------------

    async def save(self, data: bytes, extension: str, kind: str) -> str:
        resource_type = self.RESOURCE_TYPES[kind]
        public_id = secrets.token_urlsafe(24)
        key = f"{self.DELIVERY_TYPE}/{resource_type}/{public_id}.{extension}"
        result = await anyio.to_thread.run_sync(self._upload, data, extension, resource_type, public_id, key)
        fmt = str(result.get("format") or "").lower()
        if not re.fullmatch(r"[a-z0-9]{1,8}", fmt):
            fmt = extension
        return f"{self.DELIVERY_TYPE}/{resource_type}/{public_id}.{fmt}"

    def _upload(self, data: bytes, extension: str, resource_type: str, public_id: str, key: str) -> dict[str, Any]:
        try:
            result = self._uploader.upload(
                data,
                resource_type=resource_type,
                type=self.DELIVERY_TYPE,
                public_id=public_id,
                overwrite=False,
                upload_preset=None,
                filename=f"upload.{extension}",  # the visitor's file name stays with us
                timeout=self.UPLOAD_TIMEOUT,
                **self._api,
            )
        except Exception as exc:
            raise StorageUnavailable(
                self.backend,
                "upload",
                self._reason(exc),
                maybe_stored_key=key if self._may_have_arrived(exc) else None,
            ) from exc
        if not isinstance(result, dict) or result.get("public_id") != public_id:
            raise StorageUnavailable(self.backend, "upload", "unexpected answer", maybe_stored_key=key)
        return result

    async def delete(self, key: str) -> None:
        resource_type, public_id, _ = self.parse_key(key)
        await anyio.to_thread.run_sync(self._destroy, resource_type, public_id, self.delivery_type(key))

    def _destroy(self, resource_type: str, public_id: str, delivery_type: str) -> None:
        try:
            result = self._uploader.destroy(
                public_id,
                resource_type=resource_type,
                type=delivery_type,
                invalidate=True,  # purge CDN copies too
                timeout=self.DELETE_TIMEOUT,
                **self._api,
            )
        except Exception as exc:
            raise StorageUnavailable(self.backend, "destroy", self._reason(exc)) from exc
        outcome = result.get("result") if isinstance(result, dict) else None
        if outcome not in ("ok", "not found"):  # "not found": already gone, which is what we want
            raise StorageUnavailable(self.backend, "destroy", f"unexpected result {str(outcome)[:40]!r}")

    # -- errors ----------------------------------------------------------------------------------------------

    def _reason(self, exc: BaseException) -> str:
        """The error's class and message, shortened and scrubbed of the secret (never in a log)."""
        text = f"{type(exc).__name__}: {exc}"[:300]
        return text.replace(self.config.api_secret, "***") if self.config.api_secret else text

    def _may_have_arrived(self, exc: BaseException) -> bool:
        """False when the upload surely did not reach Cloudinary or was refused by it, True when unknown."""
        if type(exc) is not self._sdk_error:
            # A subclass (BadRequest, AuthorizationRequired, GeneralError…) is Cloudinary's own JSON refusal;
            # anything else (ValueError for a missing option) failed before sending.
            return False
        from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

        cause = exc.__context__
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        # Could not even connect: nothing was sent. Anything else (no answer, an unreadable one) is unknown.
        return not isinstance(cause, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError, socket.gaierror))


def make_storage(settings: Settings) -> Storage:
    """Cloudinary when it is configured (CLOUDINARY_URL or the three CLOUDINARY_* parts), else local disk."""
    if settings.cloudinary is not None:
        return CloudinaryStorage(settings.cloudinary)
    return LocalStorage(settings.upload_dir)
