"""Uploaded files: the type is decided from the bytes, never from the name or the client's Content-Type.

Images (JPEG, PNG, GIF, WebP) are decoded and re-encoded by Pillow: what we store is a fresh encoding with no
metadata (EXIF GPS cannot leak) and no trailing bytes (a polyglot loses its second life). Audio (MP3, WAV,
OGG/Opus, WebM, M4A) is checked by its container's signature and stored as sent. Anything carrying markup
(SVG, HTML, a GIF/JS polyglot) is refused outright.

Decoding is the expensive part (a 170 KB PNG can claim 40 million pixels: 160 MB once decoded), so an image's
size and frame count are read from its header first (`inspect`) and checked against an `ImageBudget` before
any pixel is decoded; only then does `reencode` run (the caller bounds how many run at once).
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
AUDIO_FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg", "webm": "audio/webm", "m4a": "audio/mp4"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp", **{k: k for k in AUDIO_FORMATS}}
M4A_BRANDS = {b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"iso2", b"iso5", b"dash", b"3gp4", b"3gp5"}
# Markup anywhere in the bytes: an SVG, an HTML page renamed .png, a GIF that is also a script.
_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|body|object|embed|!doctype)\b|javascript:", re.IGNORECASE)
# Pillow reports a multi-picture phone JPEG as MPO; we keep its first picture like any JPEG.
_PILLOW_FORMATS = {"jpeg": {"JPEG", "MPO"}, "png": {"PNG"}, "gif": {"GIF"}, "webp": {"WEBP"}}


@dataclass(frozen=True, slots=True)
class ImageBudget:
    """What one image may cost to decode. Pillow holds up to 4 bytes a pixel, so `frame_pixels` (4096 x 4096:
    every 12-16 Mpx phone photo fits) is at most 64 MB for a still image; an animation decodes and re-encodes
    every frame (GIF at ~70 ms of CPU a megapixel), so it gets at most `frames` frames and `total_pixels`
    across them (~1.5 s of CPU; e.g. 96 frames of 512 x 512)."""

    frame_pixels: int = 4096 * 4096
    frames: int = 100
    total_pixels: int = 24 * 1024 * 1024


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


@dataclass(frozen=True, slots=True)
class PendingImage:
    """An image whose header fits the budget; `reencode` decodes it."""

    format: str
    data: bytes
    file_name: str
    budget: ImageBudget = field(default_factory=ImageBudget)


def inspect(
    data: bytes,
    file_name: str | None,
    *,
    max_image_bytes: int,
    max_audio_bytes: int,
    budget: ImageBudget | None = None,
) -> CheckedFile | PendingImage:
    """Every check that needs no decoding: audio comes back checked, an image as a PendingImage.

    Raises UploadRejected with a clear reason; cheap (milliseconds) whatever the file claims."""
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
    budget = budget or ImageBudget()
    _check_budget(*_measure(data, detected, budget.frames), budget)
    return PendingImage(detected, data, clean_file_name(file_name, EXTENSIONS[detected]), budget)


def reencode(pending: PendingImage) -> CheckedFile:
    """Decode and re-encode a PendingImage: the CPU- and memory-heavy step."""
    encoded, width, height = _reencode_image(pending.data, pending.format, pending.budget)
    return CheckedFile(
        "image", pending.format, IMAGE_FORMATS[pending.format], encoded, width, height, pending.file_name
    )


def check(
    data: bytes,
    file_name: str | None,
    *,
    max_image_bytes: int,
    max_audio_bytes: int,
    budget: ImageBudget | None = None,
) -> CheckedFile:
    """`inspect` then, for an image, `reencode`; raises UploadRejected with a clear reason."""
    checked = inspect(data, file_name, max_image_bytes=max_image_bytes, max_audio_bytes=max_audio_bytes, budget=budget)
    return reencode(checked) if isinstance(checked, PendingImage) else checked


def _check_budget(width: int, height: int, frames: int, budget: ImageBudget) -> None:
    if width * height > budget.frame_pixels:
        raise UploadRejected(422, "upload.too_many_pixels")
    if frames > budget.frames:
        raise UploadRejected(422, "upload.too_many_frames")
    if width * height * frames > budget.total_pixels:
        raise UploadRejected(422, "upload.too_many_frames")


def _measure(data: bytes, detected: str, max_frames: int) -> tuple[int, int, int]:
    """The canvas every frame is decoded to and the number of frames we would decode, without decoding.

    JPEG and PNG: one frame (we keep the first picture of an MPO or APNG). GIF: walked here, because Pillow's
    frame count parses every frame in Python (a 5 MB GIF can hold 300,000 tiny frames) and a frame may enlarge
    the canvas. WebP: libwebp's demuxer counts frames without decoding them."""
    if detected == "gif":
        return _gif_extent(data, max_frames)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in _PILLOW_FORMATS[detected]:
                    raise UploadRejected(422, "upload.broken")
                width, height = image.size
                return width, height, getattr(image, "n_frames", 1) if detected == "webp" else 1
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadRejected(422, "upload.too_many_pixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            raise UploadRejected(422, "upload.broken") from None


def _gif_extent(data: bytes, max_frames: int) -> tuple[int, int, int]:
    """(width, height, frames) of a GIF as Pillow would decode it; stops counting at max_frames + 1."""
    if len(data) < 13:
        raise UploadRejected(422, "upload.broken")
    width, height, flags = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little"), data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while position < len(data) and frames <= max_frames:
        tag = data[position]
        position += 1
        if tag == 0x3B:  # trailer
            break
        if tag == 0x21:  # extension: a label, then sub-blocks
            position = _skip_sub_blocks(data, position + 1)
        elif tag == 0x2C:  # a frame: its descriptor may reach past the logical screen, which Pillow then grows
            descriptor = data[position : position + 9]
            if len(descriptor) < 9:
                break
            left, top, frame_width, frame_height = (
                int.from_bytes(descriptor[i : i + 2], "little") for i in range(0, 8, 2)
            )
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            position += 9 + (3 << ((descriptor[8] & 7) + 1) if descriptor[8] & 0x80 else 0)
            position = _skip_sub_blocks(data, position + 1)  # after the LZW code size byte
            frames += 1
        # Pillow skips any other byte the same way.
    if frames == 0:
        raise UploadRejected(422, "upload.broken")
    return width, height, frames


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            break
    return position


def _reencode_image(data: bytes, detected: str, budget: ImageBudget) -> tuple[bytes, int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format not in _PILLOW_FORMATS[detected]:
                raise UploadRejected(422, "upload.broken")
            frames = getattr(image, "n_frames", 1) if detected in {"gif", "webp"} else 1
            _check_budget(*image.size, frames, budget)
            image.load()
            output = io.BytesIO()
            if frames > 1:
                image.save(
                    output,
                    format=detected.upper(),
                    save_all=True,
                    loop=image.info.get("loop", 0),
                    duration=image.info.get("duration", 100),
                )
            else:
                # Upright once EXIF is gone; in place, as each copy of a 16 Mpx picture is another 64 MB.
                ImageOps.exif_transpose(image, in_place=True)
                if detected == "jpeg":
                    picture = image if image.mode in {"RGB", "L"} else image.convert("RGB")
                    picture.save(output, format="JPEG", quality=85, optimize=True)
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
