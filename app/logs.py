"""What a server's console shows: one JSON object per line on stderr (Sohbet's loggers and the libraries'
warnings), and on stdout the few lines meant for a person — the start-up banner of `sohbet serve` and, in
development, the login code (`highlight` sets it apart).

Configuring logging changes process-wide state, so only the entry points that start a server call
`configure_logging` (app/main.py's `app_factory`, `sohbet serve`); building the app never does.

The per-request `http.response` line (app/web/headers.py) is INFO in production and DEBUG in development: a
developer's console stays readable at the default LOG_LEVEL=INFO, and `LOG_LEVEL=DEBUG` brings the lines back.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, TextIO

from app.setting_values import MAIL_LINKS_MISSING, mail_links_missing
from app.settings import Settings, login_code_channel
from app.version import VERSION


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


def access_log_level(settings: Settings) -> int:
    """The level of the per-request `http.response` line (see the module docstring)."""
    return logging.INFO if settings.is_production else logging.DEBUG


def highlight(text: str, stream: TextIO) -> str:
    """`text` in bold reverse video when `stream` is a terminal (and NO_COLOR is unset), else unchanged: a file
    or a pipe gets no escape codes."""
    isatty = getattr(stream, "isatty", None)
    if os.environ.get("NO_COLOR") or not (isatty and isatty()):
        return text
    return f"\033[1;7m{text}\033[0m"


def startup_banner(settings: Settings, host: str, port: int, database: str) -> str:
    """What `sohbet serve` prints before uvicorn starts: where the pages are, who logs in and how, what the
    database was found or made to be (`database`, e.g. "up to date (10 migrations)"). Plain ASCII: a console
    with a narrow encoding prints it too. The admin password appears only when it was generated in development
    (kept in DATA_DIR/secrets.json); a password from the environment is the owner's own and never echoed."""
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only for the message
    base = f"http://{shown}:{port}"
    engine = "PostgreSQL" if settings.is_postgres else "SQLite"
    rows = [
        ("database", f"{engine}, {database}"),
        ("visitor page", f"{base}/"),
        ("admin login", f"{base}/login"),
    ]
    if not settings.is_production:
        rows.append(("username", settings.admin_username))
        if settings.admin_password_generated:
            kept = settings.data_dir / "secrets.json"
            rows.append(("password", f"{settings.admin_password}  (generated, kept in {kept})"))
        else:
            source = "ADMIN_PASSWORD_HASH" if settings.admin_password_hash else "ADMIN_PASSWORD"
            rows.append(("password", f"the one in {source}"))
    channel = login_code_channel(settings)
    rows.append(
        (
            "login code",
            {
                "console": "printed here, in this console, after the password (development only)",
                "telegram": "sent to the admin Telegram chat (TELEGRAM_CHAT_ID)",
            }.get(channel, "no channel: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID to log in"),
        )
    )
    rows.append(("mail", f"through {settings.smtp}, from {settings.mail_from}" if settings.smtp else "not configured"))
    if mail_links_missing(settings.smtp, settings.public_url):
        rows.append(("WARNING", MAIL_LINKS_MISSING))
    if not settings.is_production:
        rows.append(("logs", f"JSON lines below (LOG_LEVEL={settings.log_level}; DEBUG adds one line per request)"))
    width = max(len(label) for label, _ in rows)
    lines = [f"Sohbet {VERSION} is starting ({settings.environment})", ""]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    return "\n".join(["", *lines, ""]) + "\n"
