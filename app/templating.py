"""The Jinja environment the pages and partials render with: its loader, filters and globals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.services.conversations import PREVIEW_MARKS
from app.services.crypto import token_hash
from app.services.idempotency import new_client_msg_id
from app.services.text import message_parts

APP_DIR = Path(__file__).resolve().parent
STATIC_DIR = APP_DIR / "static"
TEMPLATES_DIR = APP_DIR / "templates"


def hhmm(moment: object) -> str:
    return moment.strftime("%H:%M") if isinstance(moment, datetime) else ""


def iso(moment: object) -> str:
    return moment.isoformat("T", "seconds") if isinstance(moment, datetime) else ""


def initials(name: object) -> str:
    """An avatar's letters: the first of the first and of the last word ("Ayşe Yılmaz" -> "AY", "Support" -> "S")."""
    words = str(name or "").split()
    return "".join(word[0] for word in words[:1] + words[1:][-1:]).upper()


def preview_mark(preview: object) -> tuple[str | None, str]:
    """A stored preview starts with its attachment's mark (an emoji, kept as data): the kind, for an SVG icon in
    the page, and the text after it."""
    text = preview if isinstance(preview, str) else ""
    for kind, mark in PREVIEW_MARKS.items():
        if text.startswith(mark):
            return kind, text[len(mark) :].lstrip()
    return None, text


def make_jinja() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )
    env.filters["message_parts"] = message_parts
    env.filters["hhmm"] = hhmm
    env.filters["iso"] = iso
    env.filters["initials"] = initials
    env.filters["preview_mark"] = preview_mark
    env.globals["static_version"] = static_version()
    env.globals["new_client_msg_id"] = new_client_msg_id
    return env


def static_version() -> str:
    stamp = max((p.stat().st_mtime_ns for p in STATIC_DIR.iterdir()), default=0)
    return token_hash(str(stamp))[:10]
