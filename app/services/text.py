"""User text: cleaning display names and messages, and rendering message text as safe HTML."""

from __future__ import annotations

import re
import unicodedata

NAME_MAX = 50
MESSAGE_MAX = 4000
PREVIEW_MAX = 80

# Control characters (Cc), format characters used for spoofing (bidi overrides, zero-width), and separators
# other than the ordinary space. Newlines and tabs survive in messages only.
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\ufeff"))
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?)]}'\""


class TextError(ValueError):
    """Input that cannot be accepted; `code` is a stable key for the message shown to the user."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _strip_controls(value: str, keep_newlines: bool) -> str:
    value = unicodedata.normalize("NFC", value).translate(_BIDI)
    kept = []
    for char in value:
        if char in "\n\t" and keep_newlines:
            kept.append(char)
        elif char == "\r":
            continue
        elif unicodedata.category(char) in {"Cc", "Cs", "Co", "Zl", "Zp"}:
            if not keep_newlines and char in "\n\t":
                kept.append(" ")
            continue
        else:
            kept.append(char)
    return "".join(kept)


def clean_display_name(value: str | None) -> str:
    """Trimmed, control characters removed, whitespace collapsed; '' means none given (readers see a label)."""
    cleaned = " ".join(_strip_controls(value or "", keep_newlines=False).split())
    if len(cleaned) > NAME_MAX:
        raise TextError("name_too_long")
    return cleaned


def clean_message(value: str | None) -> str:
    """Trimmed message text of 1-4000 characters, control characters removed (newlines and tabs kept)."""
    cleaned = _strip_controls(value or "", keep_newlines=True).strip()
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    if not cleaned:
        raise TextError("message_empty")
    if len(cleaned) > MESSAGE_MAX:
        raise TextError("message_too_long")
    return cleaned


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_MAX else flat[: PREVIEW_MAX - 1] + "\u2026"


def message_parts(text: str) -> list[tuple[str, str]]:
    """A message's text in pieces for its template (shared/_message.html), which escapes each: ("text", ...),
    ("link", url) for every http/https URL (trailing punctuation left out of it), ("br", "") for a line break."""
    parts: list[tuple[str, str]] = []

    def plain(chunk: str) -> None:
        for number, line in enumerate(chunk.split("\n")):
            if number:
                parts.append(("br", ""))
            if line:
                parts.append(("text", line))

    position = 0
    for match in _URL_RE.finditer(text):
        url = match.group(0).rstrip(_TRAILING_PUNCT)
        plain(text[position : match.start()])
        parts.append(("link", url))
        position = match.start() + len(url)
    plain(text[position:])
    return parts
