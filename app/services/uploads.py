"""Uploaded files: the type is decided from the bytes, never from the name or the client's Content-Type.

Images (JPEG, PNG, GIF, WebP) are decoded and re-encoded by Pillow: what we store is a fresh encoding with no
metadata (EXIF GPS cannot leak) and no trailing bytes (a polyglot loses its second life). Audio (MP3, WAV,
OGG/Opus, WebM, M4A) is checked by its container's signature and stored as sent. Anything carrying markup
(SVG, HTML, a GIF/JS polyglot) is refused outright.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
AUDIO_FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg", "webm": "audio/webm", "m4a": "audio/mp4"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp", **{k: k for k in AUDIO_FORMATS}}
M4A_BRANDS = {b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"iso2", b"iso5", b"dash", b"3gp4", b"3gp5"}
# Markup anywhere in the bytes: an SVG, an HTML page renamed .png, a GIF that is also a script.
_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|body|object|embed|!doctype)\b|javascript:", re.IGNORECASE)
MAX_FRAMES = 300


class UploadRejected(ValueError):
    """`status`: 413 (too large), 415 (type not accepted) or 422 (broken or hostile); `code`: an i18n key."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class CheckedFile:
    kind: str  # image | audio
    format: str
    content_type: str
    data: bytes
    width: int | None
    height: int | None
    file_name: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def sniff(head: bytes) -> str | None:
    """The format these first bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS" and (b"OpusHead" in head[:128] or b"\x01vorbis" in head[:128]):
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in head[:64]:
        return "webm"
    if head[4:8] == b"ftyp" and head[8:12] in M4A_BRANDS:
        return "m4a"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def clean_file_name(name: str | None, extension: str) -> str:
    """A display name with no path, no markup characters and the extension of what the file really is."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base).rsplit(".", 1)[0] if "." in base else base
    base = re.sub(r"[^\w\- ]+", "_", base, flags=re.UNICODE).strip(" ._") or "file"
    return f"{base[:80]}.{extension}"


def check(
    data: bytes, file_name: str | None, *, max_image_bytes: int, max_audio_bytes: int, max_pixels: int
) -> CheckedFile:
    """Validate (and for images re-encode) an upload; raises UploadRejected with a clear reason."""
    if not data:
        raise UploadRejected(422, "upload.empty")
    detected = sniff(data[:256])
    if detected is None:
        raise UploadRejected(415, "upload.type")
    if _MARKUP.search(data):
        raise UploadRejected(422, "upload.hostile")
    if detected in AUDIO_FORMATS:
        if len(data) > max_audio_bytes:
            raise UploadRejected(413, "upload.too_large")
        return CheckedFile(
            "audio",
            detected,
            AUDIO_FORMATS[detected],
            data,
            None,
            None,
            clean_file_name(file_name, EXTENSIONS[detected]),
        )
    if len(data) > max_image_bytes:
        raise UploadRejected(413, "upload.too_large")
    encoded, width, height = _reencode_image(data, detected, max_pixels)
    return CheckedFile(
        "image",
        detected,
        IMAGE_FORMATS[detected],
        encoded,
        width,
        height,
        clean_file_name(file_name, EXTENSIONS[detected]),
    )


def _reencode_image(data: bytes, detected: str, max_pixels: int) -> tuple[bytes, int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format is None or image.format.lower() != detected:
                raise UploadRejected(422, "upload.broken")
            width, height = image.size
            frames = getattr(image, "n_frames", 1)
            if width * height > max_pixels or width * height * frames > max_pixels * 4 or frames > MAX_FRAMES:
                raise UploadRejected(422, "upload.too_many_pixels")
            image.load()
            output = io.BytesIO()
            if frames > 1 and detected in {"gif", "webp"}:
                image.save(
                    output,
                    format=detected.upper(),
                    save_all=True,
                    loop=image.info.get("loop", 0),
                    duration=image.info.get("duration", 100),
                )
            else:
                image = ImageOps.exif_transpose(image)  # keep the picture upright once EXIF is gone
                if detected == "jpeg":
                    image.convert("RGB").save(output, format="JPEG", quality=85, optimize=True)
                elif detected == "webp":
                    image.save(output, format="WEBP", quality=85)
                else:
                    image.save(output, format=detected.upper(), optimize=True)
            width, height = image.size
        except UploadRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadRejected(422, "upload.too_many_pixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            raise UploadRejected(422, "upload.broken") from None
    return output.getvalue(), width, height
