"""Log output: one JSON object per line on stderr, for Sohbet's loggers and the libraries' warnings.

Configuring logging changes process-wide state, so only the entry points that start a server call
`configure_logging` (app/main.py's `app_factory`, `sohbet serve`); building the app never does.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line. Our loggers pass JSON objects; anything else is wrapped (and so escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
        }
        try:
            parsed = json.loads(message)
            entry.update(parsed if isinstance(parsed, dict) else {"message": message})
        except ValueError:
            entry["message"] = message
        if record.exc_info:
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else "unknown"
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    ours = logging.getLogger("sohbet")
    ours.handlers[:] = [handler]
    ours.setLevel(level)
    ours.propagate = False
    # Libraries (asyncpg, piccolo, litestar) log through the root logger: JSON lines too, warnings and up.
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # httpx logs every request's URL at INFO, and Telegram's URLs carry the bot token: never below WARNING.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
