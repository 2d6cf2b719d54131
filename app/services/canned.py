"""Canned replies (SPEC §10): support's own templates, kept by shortcut, offered in the agent's composer (typing `/`
plus a shortcut, or a `<select name="canned">` without JavaScript), with `{name}` replaced by the visitor's display
name when the message is sent.

The text is stored plain: agents write it, not visitors (message text is what the app encrypts). Agents and owners
may manage them. One shortcut, one reply: saving an existing shortcut replaces its text. Refusals are
`CannedRefused(status, code)`; `code` is an i18n key after `error.`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.clock import now
from app.models import CannedReply
from app.services.text import TextError, clean_message

SHORTCUT_RE = re.compile(r"[a-z0-9_-]{1,30}")
TEXT_MAX = 2000
SUGGESTIONS = 8
NAME_FIELD = "{name}"


class CannedRefused(Exception):
    """Nothing was changed; `code`: the i18n key after `error.`."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Canned:
    shortcut: str
    text: str
    created_by: str
    updated_at: float


def _view(row: dict[str, Any]) -> Canned:
    return Canned(row["shortcut"], row["text"], row["created_by"], float(row["updated_at"]))


def clean_shortcut(value: str) -> str:
    """The shortcut as stored: trimmed, a leading `/` dropped, lower case; CannedRefused when it is not
    `[a-z0-9_-]{1,30}`."""
    shortcut = value.strip().removeprefix("/").lower()
    if not SHORTCUT_RE.fullmatch(shortcut):
        raise CannedRefused(422, "canned.bad_shortcut")
    return shortcut


def clean_text(value: str) -> str:
    try:
        text = clean_message(value)
    except TextError as error:
        raise CannedRefused(422, "canned.too_long" if error.code == "message_too_long" else "canned.empty") from None
    if len(text) > TEXT_MAX:
        raise CannedRefused(422, "canned.too_long")
    return text


async def all_replies() -> list[Canned]:
    rows = await CannedReply.select().order_by(CannedReply.shortcut)
    return [_view(row) for row in rows]


async def save(shortcut: str, text: str, *, by: str) -> Canned:
    """Create the reply, or replace the text of the one with this shortcut."""
    shortcut, text = clean_shortcut(shortcut), clean_text(text)
    if await CannedReply.exists().where(CannedReply.shortcut == shortcut):
        await CannedReply.update(
            {CannedReply.text: text, CannedReply.created_by: by, CannedReply.updated_at: now()}
        ).where(CannedReply.shortcut == shortcut)
    else:
        await CannedReply.insert(CannedReply(shortcut=shortcut, text=text, created_by=by, updated_at=now()))
    return Canned(shortcut, text, by, now())


async def delete(shortcut: str) -> None:
    """Gone (already gone is fine: a second click of the same button changes nothing)."""
    await CannedReply.delete().where(CannedReply.shortcut == shortcut.strip().lower())


async def suggest(typed: str) -> list[Canned]:
    """The replies whose shortcut starts with what follows a leading `/` in `typed` (the composer's text, or a
    bare prefix); none when the text is not a `/shortcut` being typed."""
    if not typed.startswith("/") or any(char.isspace() for char in typed):
        return []
    prefix = typed[1:].lower()
    if prefix and not SHORTCUT_RE.fullmatch(prefix):
        return []
    # Filtered here, not with LIKE: `_` is a LIKE wildcard, and support keeps a handful of replies.
    return [reply for reply in await all_replies() if reply.shortcut.startswith(prefix)][:SUGGESTIONS]


async def compose(text: str, chosen: str, visitor_name: str) -> str:
    """An agent's message as sent: the chosen canned reply (by shortcut; "" for none) alone when nothing was typed,
    else after the typed text on a new line; then `{name}` becomes the visitor's display name. CannedRefused
    (422) when the chosen reply does not exist (any more)."""
    if chosen.strip():
        row = await CannedReply.select(CannedReply.text).where(CannedReply.shortcut == chosen.strip()).first()
        if row is None:
            raise CannedRefused(422, "canned.unknown")
        text = f"{text.rstrip()}\n{row['text']}" if text.strip() else str(row["text"])
    return fill(text, visitor_name)


def fill(text: str, visitor_name: str) -> str:
    """`{name}` replaced by the visitor's display name (the only placeholder)."""
    return text.replace(NAME_FIELD, visitor_name)
