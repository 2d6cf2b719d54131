"""`sohbet check-env`: the settings as the server builds them (secrets masked), then everything that can be
checked without calling anyone: weak or missing secrets (errors in production, warnings in development), the
database (connect and a trivial query, with a timeout), the data and upload directories, Telegram and
Cloudinary (configured or not; neither is contacted)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.ops.findings import FAIL, INFO, PASS, WARN, Finding, failed, mask_url
from app.ops.settings_report import configured_settings, secret_findings, server_settings, setting_lines
from app.setting_values import MAIL_LINKS_MISSING, mail_links_missing
from app.settings import ENV_NAMES, Settings

DATABASE_TIMEOUT = 5.0


@dataclass
class EnvReport:
    settings: Settings  # what the server would run with
    values: list[tuple[str, str]]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not failed(self.findings)


def scrub_password(text: str, settings: Settings) -> str:
    """An error message without the database password."""
    password = urlsplit(settings.database_url).password if settings.is_postgres else None
    return text.replace(password, "***") if password else text


def _sqlite_probe(path: Path) -> int | None:
    """Open an existing SQLite file (never creating one), run a query; applied migrations, None if unmigrated."""
    uri = path.resolve().as_uri() + "?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=DATABASE_TIMEOUT)) as conn:
        conn.execute("SELECT 1").fetchone()
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration'").fetchone():
            return None
        return int(conn.execute("SELECT COUNT(*) FROM migration").fetchone()[0])


async def _postgres_probe(url: str, seconds: float) -> tuple[int | None, str]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=seconds)
    try:
        await conn.fetchval("SELECT 1")
        version = conn.get_server_version()
        if not await conn.fetchval("SELECT to_regclass('migration') IS NOT NULL"):
            return None, f"PostgreSQL {version.major}.{version.minor}"
        return int(await conn.fetchval("SELECT COUNT(*) FROM migration")), f"PostgreSQL {version.major}.{version.minor}"
    finally:
        await conn.close()


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def directory_problem(path: Path) -> str | None:
    """None when `path` is a writable directory or can be created; else what is wrong."""
    if path.exists():
        if not path.is_dir():
            return f"{path} exists but is not a directory"
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".sohbet-check-"):
                pass
        except OSError as exc:
            return f"{path} is not writable ({exc.strerror or type(exc).__name__})"
        return None
    parent = _nearest_existing(path)
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return None
    return f"{path} does not exist and cannot be created ({parent} is not a writable directory)"


async def database_findings(settings: Settings, seconds: float = DATABASE_TIMEOUT) -> list[Finding]:
    """Connect to DATABASE_URL and run a trivial query (within `seconds`), then look at the schema."""
    shown = mask_url(settings.database_url)
    kind = "PostgreSQL"
    try:
        async with asyncio.timeout(seconds):
            if settings.is_postgres:
                applied, kind = await _postgres_probe(settings.database_url, seconds)
            else:
                path = settings.sqlite_path
                if not path.exists():
                    problem = directory_problem(path.parent)
                    if problem:
                        return [Finding(FAIL, "DATABASE_URL", f"SQLite file {path} cannot be created: {problem}")]
                    return [
                        Finding(
                            PASS,
                            "DATABASE_URL",
                            f"SQLite file {path} does not exist yet; `sohbet migrate` (or `sohbet serve`) creates it",
                        )
                    ]
                if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
                    return [Finding(FAIL, "DATABASE_URL", f"SQLite file {path} (or its directory) is not writable")]
                applied, kind = await asyncio.to_thread(_sqlite_probe, path), "SQLite"
    except TimeoutError:
        return [Finding(FAIL, "DATABASE_URL", f"no answer from {shown} within {seconds:g}s", "check the host and port")]
    except Exception as exc:  # any driver error: say which, never the password
        reason = scrub_password(f"{type(exc).__name__}: {exc}", settings)[:300]
        return [Finding(FAIL, "DATABASE_URL", f"cannot reach {shown}: {reason}", "check DATABASE_URL and the server")]
    findings = [Finding(PASS, "DATABASE_URL", f"{kind} reachable at {shown} (SELECT 1 answered)")]
    if applied is None:
        findings.append(
            Finding(WARN, "schema", "not migrated yet", "run `sohbet migrate` (`sohbet serve` also does at start)")
        )
    else:
        findings.append(Finding(PASS, "schema", f"{applied} migration(s) applied"))
    return findings


def directory_findings(settings: Settings) -> list[Finding]:
    findings = []
    for attribute in ("data_dir", "upload_dir"):
        name, path = ENV_NAMES[attribute], getattr(settings, attribute)
        problem = directory_problem(path)
        if problem is None:
            state = "writable" if path.exists() else "will be created (its parent is writable)"
            findings.append(Finding(PASS, name, f"{path} {state}"))
        else:
            # With Cloudinary, UPLOAD_DIR only holds older local files (served, deleted, restored).
            level = WARN if attribute == "upload_dir" and settings.cloudinary_configured else FAIL
            findings.append(
                Finding(level, name, problem, f"make {path} writable by this user or point {name} elsewhere")
            )
    return findings


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))


def telegram_findings(settings: Settings) -> list[Finding]:
    if settings.telegram_configured:
        text = f"configured (chat {settings.telegram_chat_id}, mode {settings.telegram_mode}"
        if settings.telegram_mode == "webhook":
            text += f", webhook {settings.public_url}/telegram/webhook, TELEGRAM_WEBHOOK_SECRET set"
        text += "); not contacted here: `sohbet telegram-test` checks the bot"
        findings = [Finding(PASS, "Telegram", text)]
        if settings.telegram_mode == "webhook" and not _https_or_loopback(settings.public_url):
            findings.append(
                Finding(WARN, "PUBLIC_URL", "Telegram only calls https webhooks", "use an https PUBLIC_URL")
            )
        return findings
    if settings.telegram_bot_token or settings.telegram_chat_id:
        missing = "TELEGRAM_CHAT_ID" if settings.telegram_bot_token else "TELEGRAM_BOT_TOKEN"
        return [Finding(WARN, "Telegram", f"{missing} is not set, so Telegram is off", f"set {missing} too")]
    if settings.is_production:
        return [
            Finding(
                WARN,
                "Telegram",
                "not configured: in production login codes go only through Telegram, so the admin cannot log in",
                "set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID",
            )
        ]
    return [Finding(INFO, "Telegram", "not configured (development: login codes are printed on the console)")]


def cloudinary_findings(settings: Settings) -> list[Finding]:
    config = settings.cloudinary
    if config is None:
        return [Finding(INFO, "Cloudinary", f"not configured: attachments are stored in {settings.upload_dir}")]
    return [
        Finding(
            PASS,
            "Cloudinary",
            f"configured (cloud {config.cloud_name}, files from {config.delivery_origin}); not contacted here",
        )
    ]


def mail_findings(settings: Settings) -> list[Finding]:
    if settings.smtp is None:
        return [Finding(INFO, "Mail", "not configured (SMTP_URL): no replies or transcripts by email")]
    text = f"configured ({settings.smtp}, from {settings.mail_from}); not contacted here: `sohbet mail-test ADDRESS`"
    findings = [Finding(PASS, "Mail", text)]
    if mail_links_missing(settings.smtp, settings.public_url):
        findings.append(Finding(WARN, "PUBLIC_URL", MAIL_LINKS_MISSING, "set PUBLIC_URL to the address visitors open"))
    return findings


def other_findings(settings: Settings) -> list[Finding]:
    findings = []
    if settings.log_level not in logging.getLevelNamesMapping():
        findings.append(
            Finding(
                FAIL, "LOG_LEVEL", f"{settings.log_level!r} is not a log level", "use DEBUG, INFO, WARNING or ERROR"
            )
        )
    if settings.is_production and not settings.public_url.startswith("https://"):
        findings.append(
            Finding(WARN, "PUBLIC_URL", "not an https address", "set PUBLIC_URL to the https address users open")
        )
    return findings


async def check_env(environ: dict[str, str] | None = None, *, db_seconds: float = DATABASE_TIMEOUT) -> EnvReport:
    """Build the settings like the server does and check everything; raises SettingsError for a malformed
    setting. Secret problems are FAILs in production, WARNs in development."""
    configured = configured_settings(environ)
    effective = configured if configured.is_production else server_settings(configured)
    findings = secret_findings(configured, effective) or [
        Finding(PASS, "secrets", "every secret is set and strong enough")
    ]
    findings += other_findings(effective)
    findings += await database_findings(effective, db_seconds)
    findings += directory_findings(effective)
    findings += telegram_findings(effective)
    findings += cloudinary_findings(effective)
    findings += mail_findings(effective)
    return EnvReport(effective, setting_lines(configured, effective), findings)
