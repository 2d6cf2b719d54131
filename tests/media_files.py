"""Tiny valid (and hostile) files, made here: one of each accepted type, and one of each refusal case."""

from __future__ import annotations

import io
import struct
import wave

from PIL import Image, ImageDraw


def image(fmt: str, size: tuple[int, int] = (32, 24), *, gps: bool = False, frames: int = 1) -> bytes:
    picture = Image.new("RGB", size, (200, 30, 30))
    output = io.BytesIO()
    if fmt == "JPEG" and gps:
        exif = picture.getexif()
        exif[0x010F] = "SpyCam"  # Make
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (41.0, 0.0, 52.0)
        gps_ifd[3] = "E"
        gps_ifd[4] = (28.0, 58.0, 30.0)
        picture.save(output, "JPEG", exif=exif)
    elif frames > 1:
        more = [Image.new("RGB", size, (i * 40 % 255, 0, 0)) for i in range(1, frames)]
        picture.save(output, fmt, save_all=True, append_images=more, duration=100, loop=0)
    else:
        picture.save(output, fmt)
    return output.getvalue()


def wav() -> bytes:
    output = io.BytesIO()
    with wave.open(output, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(struct.pack("<800h", *([0, 1000] * 400)))
    return output.getvalue()


def mp3() -> bytes:
    return b"ID3\x03\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x64" + b"\x00" * 413) * 4


def ogg_opus() -> bytes:
    header = b"OggS\x00\x02" + b"\x00" * 8 + b"\x01\x00\x00\x00" + b"\x00" * 8 + b"\x01\x13"
    return header + b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00" + b"\x00" * 200


def webm() -> bytes:
    ebml = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    return ebml + b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x00" * 200


def m4a() -> bytes:
    return b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom\x00\x00\x00\x00" + b"\x00" * 200


ACCEPTED = {
    "photo.jpg": (lambda: image("JPEG"), "image/jpeg"),
    "pic.png": (lambda: image("PNG"), "image/png"),
    "anim.gif": (lambda: image("GIF", frames=3), "image/gif"),
    "pic.webp": (lambda: image("WEBP"), "image/webp"),
    "song.mp3": (mp3, "audio/mpeg"),
    "note.wav": (wav, "audio/wav"),
    "voice.ogg": (ogg_opus, "audio/ogg"),
    "voice.webm": (webm, "audio/webm"),
    "memo.m4a": (m4a, "audio/mp4"),
}

SVG_WITH_SCRIPT = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML_AS_PNG = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
GIF_JS_POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00;*/=1;alert(document.domain);//" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"
PNG_WITH_HTML_TAIL = None  # built lazily: a real PNG with an HTML page appended


def png_with_html_tail() -> bytes:
    return image("PNG") + b"<html><script>alert(1)</script></html>"


def pixel_bomb() -> bytes:
    """A small PNG that claims 30000 x 30000 pixels."""
    picture = Image.new("1", (30000, 30000))
    output = io.BytesIO()
    picture.save(output, "PNG", optimize=True)
    return output.getvalue()


def big_flat_png(side: int) -> bytes:
    """A few hundred KB that decode to side x side RGB pixels (6300: 40 Mpx, 160 MB once decoded)."""
    output = io.BytesIO()
    Image.new("RGB", (side, side), (9, 9, 9)).save(output, "PNG", optimize=True)
    return output.getvalue()


def long_gif(frames: int, side: int) -> bytes:
    """An animation whose frames differ by a small square: small on disk, every frame a full canvas to decode."""
    base = Image.new("P", (side, side), 0)
    base.putpalette([i % 256 for i in range(768)])
    pictures = []
    for i in range(frames):
        picture = base.copy()
        ImageDraw.Draw(picture).rectangle((i % side, 0, i % side + 8, 8), fill=1 + i % 200)
        pictures.append(picture)
    output = io.BytesIO()
    pictures[0].save(output, "GIF", save_all=True, append_images=pictures[1:], duration=40, loop=0)
    return output.getvalue()


def gif_growing_canvas(left: int, top: int) -> bytes:
    """A 10 x 10 GIF whose one frame is placed at (left, top): Pillow grows the canvas to fit it."""
    data = bytearray(image("GIF", (10, 10)))
    descriptor = data.index(b"\x2c\x00\x00\x00\x00\x0a\x00\x0a\x00")
    data[descriptor + 1 : descriptor + 5] = struct.pack("<HH", left, top)
    return bytes(data)


def photo(width: int, height: int) -> bytes:
    """A phone-photo-like JPEG (gradient and noise, quality 85): 4000 x 3000 is about 2.3 MB."""
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 20).convert("RGB")
    output = io.BytesIO()
    Image.blend(gradient, noise, 0.3).save(output, "JPEG", quality=85)
    return output.getvalue()
