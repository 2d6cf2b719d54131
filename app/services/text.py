"""User text: cleaning display names and messages, and rendering message text as safe HTML."""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup, escape

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
    """Trimmed, control characters removed, whitespace collapsed; '' means "use the localized default"."""
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


def render_message_html(text: str) -> Markup:
    """Escape everything; turn http/https URLs into rel="noopener nofollow" links; keep line breaks."""
    parts: list[str] = []
    position = 0
    for match in _URL_RE.finditer(text):
        url = match.group(0)
        trimmed = url.rstrip(_TRAILING_PUNCT)
        end = match.start() + len(trimmed)
        parts.append(str(escape(text[position : match.start()])))
        safe_url = escape(trimmed)
        parts.append(f'<a href="{safe_url}" rel="noopener nofollow noreferrer" target="_blank">{safe_url}</a>')
        position = end
    parts.append(str(escape(text[position:])))
    return Markup("".join(parts).replace("\n", "<br>"))  # noqa: S704 - every piece above is escaped
