"""Operations commands: `sohbet check-env`, `security-check`, `cleanup`, `healthcheck` and `predeploy`.

Each function here returns structured results (findings, counts, a health summary); `app/cli.py` prints them.

- `check_env()`: the settings as the server builds them (secrets masked), then everything that can be checked
  without calling anyone: weak or missing secrets (errors in production, warnings in development), the database
  (connect and a trivial query, with a timeout), the data and upload directories, Telegram and Cloudinary.
- `security_audit()`: a configuration audit. It reads the app's own code, not a copy of its rules: cookies come
  from `app.web.cookie()` and the created app's CSRF config, headers from `app.web.security_headers()`, the debug
  flag and the login-code channel from an app built by `create_app()`.
- `cleanup()`: one round of housekeeping: retention (`Retention.enforce`), expired sessions and login attempts
  (`AuthService.purge_expired`), expired rate-limit keys (`DatabaseStore.purge_expired`), old Telegram
  bookkeeping, the file-deletion queue (`AttachmentService.delete_pending`) and orphan files in UPLOAD_DIR.
  A dry run performs the same database work inside one transaction that is then rolled back, and touches no file.
- `healthcheck()`: GET /health (or /health/ready) of a running server, for container HEALTHCHECKs and cron.
- `predeploy()`: check-env, migrate, security-check (production only), a database round-trip; stops at the first
  failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import logging
import os
import re
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from app.settings import RATE_UNITS, RateLimit, Settings, SettingsError

PASS, WARN, FAIL, INFO = "PASS", "WARN", "FAIL", "INFO"
DATABASE_TIMEOUT = 5.0
TELEGRAM_KEEP_SECONDS = 30 * 86400  # telegram_update and delivered telegram_outbox rows (telegram/pruning.py)
ORPHAN_MIN_AGE_SECONDS = 3600  # a file younger than this may be an upload in progress: never touched
ABSURD_PER_MINUTE = 10_000  # a rate limit above this many requests a minute limits nothing
HSTS_MIN_SECONDS = 180 * 86400
# LocalStorage names every file `<secrets.token_urlsafe(24)>.<extension>`: nothing else in UPLOAD_DIR is ours.
STORAGE_KEY_RE = re.compile(r"[A-Za-z0-9_-]{32}\.[a-z0-9]{1,8}")
Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of a report: `level` is PASS, WARN, FAIL or INFO; `check` names what was looked at (a setting's
    name when there is one); `fix` says what to do about a WARN or FAIL."""

    level: str
    check: str
    text: str
    fix: str = ""

    def __str__(self) -> str:
        line = f"{self.level:<4} {self.check}: {self.text}"
        return f"{line} -> {self.fix}" if self.fix and self.level in (WARN, FAIL) else line


def failed(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.level == FAIL]


# -- settings ----------------------------------------------------------------------------------------------


class _AsConfigured(Settings):
    """`Settings.from_env()` without its last step (`with_secrets()`, which refuses weak secrets in production
    and generates missing ones in development), so every secret problem can be listed, not just the first
    refusal."""

    def with_secrets(self) -> Settings:
        return self


def configured_settings(environ: dict[str, str] | None = None) -> Settings:
    """Every setting parsed and validated exactly as the server does, secrets as configured (none generated).
    Raises SettingsError naming a malformed setting."""
    try:
        raw = _AsConfigured.from_env(environ)
    except SettingsError:
        raise
    except ValueError as exc:  # a value Settings.from_env() converts without its own check (SSE_PING_SECONDS)
        raise SettingsError(f"a setting has an invalid value ({exc})") from exc
    return Settings(**{f.name: getattr(raw, f.name) for f in fields(Settings)})


def server_settings(configured: Settings) -> Settings:
    """What the server runs with: production refuses weak secrets (SettingsError), development generates the
    missing ones into DATA_DIR/secrets.json (as `sohbet serve` does)."""
    return configured.with_secrets()


# (setting name, Settings attribute); attributes with no environment variable are shown by attribute name.
SETTING_NAMES: dict[str, str] = {
    "environment": "ENVIRONMENT",
    "host": "HOST",
    "port": "PORT",
    "database_url": "DATABASE_URL",
    "data_dir": "DATA_DIR",
    "secret_key": "SECRET_KEY",
    "encryption_keys": "ENCRYPTION_KEYS",
    "admin_username": "ADMIN_USERNAME",
    "admin_password": "ADMIN_PASSWORD",
    "admin_password_hash": "ADMIN_PASSWORD_HASH",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "telegram_chat_id": "TELEGRAM_CHAT_ID",
    "telegram_mode": "TELEGRAM_MODE",
    "telegram_webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
    "telegram_api_base": "TELEGRAM_API_BASE",
    "public_url": "PUBLIC_URL",
    "metrics_token": "METRICS_TOKEN",
    "forwarded_allow_ips": "FORWARDED_ALLOW_IPS",
    "allowed_hosts": "ALLOWED_HOSTS",
    "max_connections": "MAX_CONNECTIONS",
    "header_timeout_seconds": "HEADER_TIMEOUT",
    "shutdown_timeout_seconds": "SHUTDOWN_TIMEOUT",
    "cloudinary": "CLOUDINARY_URL",
    "upload_dir": "UPLOAD_DIR",
    "max_image_bytes": "MAX_IMAGE_SIZE",
    "max_audio_bytes": "MAX_AUDIO_SIZE",
    "message_retention_seconds": "MESSAGE_RETENTION",
    "embed_origins": "EMBED_ORIGINS",
    "cors_origins": "CORS_ORIGINS",
    "log_level": "LOG_LEVEL",
    "rate_limit_messages": "RATE_LIMIT_MESSAGES",
    "rate_limit_uploads": "RATE_LIMIT_UPLOADS",
    "rate_limit_login": "RATE_LIMIT_LOGIN",
    "rate_limit_api": "RATE_LIMIT_API",
    "session_idle_seconds": "SESSION_IDLE_TIMEOUT",
    "session_absolute_seconds": "SESSION_ABSOLUTE_TIMEOUT",
    "login_code_seconds": "LOGIN_CODE_TTL",
    "sse_ping_seconds": "SSE_PING_SECONDS",
    "file_delete_retry_seconds": "FILE_DELETE_RETRY_SECONDS",
    "telegram_timeout_seconds": "TELEGRAM_TIMEOUT",
    "telegram_retry_seconds": "TELEGRAM_RETRY_SECONDS",
    "telegram_poll_seconds": "TELEGRAM_POLL_SECONDS",
}
SECRET_FIELDS = (
    "secret_key",
    "admin_password",
    "admin_password_hash",
    "telegram_bot_token",
    "telegram_webhook_secret",
    "metrics_token",
)
HIDDEN_FIELDS = {"admin_password_generated"}  # bookkeeping, not a setting


def mask_url(url: str) -> str:
    """A URL with its password (and any `password=` query value) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    if parts.password is None and query == parts.query:
        return url  # nothing to hide (and sqlite:/// keeps its three slashes)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret(value: str) -> str:
    return f"set ({len(value)} characters)" if value else "not set"


def shown_value(settings: Settings, name: str, *, generated: bool = False) -> str:
    """The effective value of one Settings attribute as safe to print: secrets only as set/length."""
    value = getattr(settings, name)
    if name in SECRET_FIELDS:
        text = "set (scrypt hash)" if name == "admin_password_hash" and value else _secret(value)
    elif name == "encryption_keys":
        text = f"{len(value)} key(s) set" if value else "not set"
    elif name == "database_url":
        text = mask_url(value)
    elif name == "cloudinary":
        config = settings.cloudinary
        text = (
            f"cloud {config.cloud_name}, API key set, API secret set, uploads to {config.upload_prefix}, "
            f"files from {config.delivery_origin}"
            if config
            else "not set (attachments on local disk in UPLOAD_DIR)"
        )
    elif name == "message_retention_seconds":
        text = f"{value}s" if value else "0 (messages are kept)"
    elif name in ("embed_origins", "cors_origins", "forwarded_allow_ips"):
        text = ", ".join(value) or "(none)"
    elif name == "allowed_hosts":
        text = ", ".join(value or settings.served_hosts)
    elif name in ("file_delete_retry_seconds", "telegram_retry_seconds"):
        text = ",".join(f"{seconds}s" for seconds in value)
    elif isinstance(value, RateLimit):
        text = str(value)
    elif name in ("public_url", "telegram_chat_id"):
        text = value or "not set"
    elif name in ("max_image_bytes", "max_audio_bytes"):
        text = f"{value} bytes ({_size(value)})"
    elif name in ("session_idle_seconds", "session_absolute_seconds", "login_code_seconds"):
        text = f"{value}s"
    else:
        text = str(value)
    if generated:
        text += f" (generated for development, kept in {settings.data_dir / 'secrets.json'})"
    return text


def setting_lines(configured: Settings, effective: Settings) -> list[tuple[str, str]]:
    """(name, shown value) for every setting, in the order Settings declares them."""
    lines: list[tuple[str, str]] = []
    for item in fields(Settings):
        if item.name in HIDDEN_FIELDS:
            continue
        before, after = getattr(configured, item.name), getattr(effective, item.name)
        generated = bool(after) and not before
        name = SETTING_NAMES.get(item.name, f"{item.name} (built in)")
        lines.append((name, shown_value(effective, item.name, generated=generated)))
    return lines


def _problem_name(problem: str) -> str:
    """The setting a Settings.secret_problems() message is about: its first word."""
    match = re.match(r"[A-Z][A-Z0-9_]*", problem)
    return match.group(0) if match else "secrets"


def secret_findings(configured: Settings, effective: Settings, *, level: str | None = None) -> list[Finding]:
    """Every weak or missing secret (Settings.secret_problems), by name: FAIL in production, WARN in
    development (where missing ones are generated), unless `level` says otherwise; [] when there is none."""
    level = level or (FAIL if configured.is_production else WARN)
    findings = []
    for problem in configured.secret_problems():
        name = _problem_name(problem)
        attribute = next((a for a, n in SETTING_NAMES.items() if n == name), "")
        generated = bool(attribute) and not getattr(configured, attribute) and bool(getattr(effective, attribute))
        if name == "ADMIN_PASSWORD" and configured.admin_password_hash:
            generated = False
        text = problem + ("; a generated one is used in development" if generated else "")
        fix = {
            "SECRET_KEY": "set SECRET_KEY to 32+ random characters (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`)",
            "ENCRYPTION_KEYS": "set ENCRYPTION_KEYS to a key from `sohbet genkey`",
            "ADMIN_PASSWORD": "set ADMIN_PASSWORD (12+ characters) or ADMIN_PASSWORD_HASH from `sohbet hash-password`",
            "ADMIN_PASSWORD_HASH": "make it with `sohbet hash-password`",
            "TELEGRAM_WEBHOOK_SECRET": "set TELEGRAM_WEBHOOK_SECRET to 16+ characters of A-Z a-z 0-9 _ -",
            "METRICS_TOKEN": "set METRICS_TOKEN to 16+ random characters, or unset it",
        }.get(name, "")
        findings.append(Finding(level, name, text, fix))
    return findings


# -- check-env ---------------------------------------------------------------------------------------------


@dataclass
class EnvReport:
    settings: Settings  # what the server would run with
    values: list[tuple[str, str]]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not failed(self.findings)


def _scrub(text: str, settings: Settings) -> str:
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
        reason = _scrub(f"{type(exc).__name__}: {exc}", settings)[:300]
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
    for name, path in (("DATA_DIR", settings.data_dir), ("UPLOAD_DIR", settings.upload_dir)):
        problem = directory_problem(path)
        if problem is None:
            state = "writable" if path.exists() else "will be created (its parent is writable)"
            findings.append(Finding(PASS, name, f"{path} {state}"))
        else:
            # With Cloudinary, UPLOAD_DIR only holds older local files (served, deleted, restored).
            level = WARN if name == "UPLOAD_DIR" and settings.cloudinary_configured else FAIL
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
    return EnvReport(effective, setting_lines(configured, effective), findings)


# -- security-check ----------------------------------------------------------------------------------------


def _build_app(settings: Settings) -> Any:
    """The app `create_app()` makes for this configuration, built without touching the real database (a
    PostgresEngine connects as soon as it is made) and with placeholders for missing secrets (their strength is
    audited separately; no part of the audited configuration depends on their values)."""
    from cryptography.fernet import Fernet

    from app import create_app

    with tempfile.TemporaryDirectory(prefix="sohbet-audit-") as scratch:
        stand_in = settings.with_overrides(
            database_url=f"sqlite:///{Path(scratch) / 'audit.sqlite3'}",
            secret_key=settings.secret_key or secrets.token_urlsafe(48),
            encryption_keys=settings.encryption_keys or (Fernet.generate_key().decode(),),
            admin_password=settings.admin_password
            or ("" if settings.admin_password_hash else secrets.token_urlsafe(16)),
        )
        return create_app(stand_in)


def _cookie_findings(settings: Settings, app: Any) -> list[Finding]:
    from app import web

    problems: list[str] = []
    names = [web.VISITOR_COOKIE, web.ADMIN_COOKIE, web.LOGIN_COOKIE, web.LANG_COOKIE]
    made = [(name, web.cookie(settings, name, "x", max_age=60)) for name in names]
    for name, made_cookie in made:
        flags = (made_cookie.secure, made_cookie.httponly, str(made_cookie.samesite).lower())
        problems += _cookie_problems(name, *flags)
    csrf = app.csrf_config
    if csrf is None:
        problems.append("CSRF protection is off")
    else:
        flags = (csrf.cookie_secure, csrf.cookie_httponly, str(csrf.cookie_samesite).lower())
        problems += _cookie_problems(csrf.cookie_name, *flags)
    if problems:
        fix = "set ENVIRONMENT=production (cookies are Secure there)" if not settings.is_production else ""
        return [Finding(FAIL, "cookies", "; ".join(problems), fix or "fix app/web.py cookie()")]
    shown = ", ".join(f"{name} SameSite={str(c.samesite).capitalize()}" for name, c in made)
    csrf_samesite = str(csrf.cookie_samesite).capitalize()
    findings = [Finding(PASS, "cookies", f"Secure, HttpOnly: {shown}, {csrf.cookie_name} SameSite={csrf_samesite}")]
    rewrite = getattr(web, "embed_cookie_header", None)  # the widget's iframe sets its cookies as CHIPS cookies
    if rewrite is not None:
        problems = []
        for name, made_cookie in made:
            _, header = made_cookie.to_encoded_header()
            attributes = {
                part.split("=", 1)[0].strip().lower() for part in rewrite(header.decode("latin-1")).split(";")
            }
            missing = [flag for flag in ("secure", "httponly", "partitioned") if flag not in attributes]
            if missing:
                problems.append(f"{name} lacks {', '.join(missing)}")
        if problems:
            findings.append(Finding(FAIL, "embed cookies", "; ".join(problems), "fix app/web.py embed_cookie_header()"))
        else:
            findings.append(
                Finding(PASS, "embed cookies", "in the widget's iframe: SameSite=None; Secure; Partitioned")
            )
    return findings


def _cookie_problems(name: str, secure: bool, httponly: bool, samesite: str) -> list[str]:
    problems = []
    if not secure:
        problems.append(f"{name} is not Secure")
    if not httponly:
        problems.append(f"{name} is not HttpOnly")
    if samesite not in ("lax", "strict"):
        problems.append(f"{name} has SameSite={samesite}")
    return problems


def parse_csp(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = tokens[1:]
    return directives


def _csp_findings(settings: Settings, headers: dict[str, str], private: dict[str, str] | None) -> list[Finding]:
    """The policy of every page; `private`: the headers of the admin and login pages, when they differ (never
    framed by an embedding site)."""
    policy = headers.get("content-security-policy", "")
    if not policy:
        return [Finding(FAIL, "CSP", "no Content-Security-Policy header", "fix app/web.py security_headers()")]
    directives = parse_csp(policy)
    problems = []
    if private is not None:
        private_ancestors = parse_csp(private.get("content-security-policy", "")).get("frame-ancestors")
        if private_ancestors != ["'self'"]:
            problems.append(f"admin pages: frame-ancestors is {' '.join(private_ancestors or ['missing'])}")
    for name, sources in directives.items():
        for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"):
            if bad in sources:
                problems.append(f"{name} allows {bad}")
    for name in ("object-src", "base-uri"):
        if directives.get(name) != ["'none'"]:
            problems.append(f"{name} is {' '.join(directives.get(name, ['missing']))}, not 'none'")
    if directives.get("default-src") != ["'self'"]:
        problems.append("default-src is not 'self'")
    ancestors = directives.get("frame-ancestors", [])
    expected = ["'self'", *settings.embed_origins]
    if sorted(ancestors) != sorted(expected):
        problems.append(f"frame-ancestors is {' '.join(ancestors) or 'missing'}, expected {' '.join(expected)}")
    plain = [origin for origin in ancestors if origin != "'self'" and not origin.startswith("https://")]
    if plain:
        problems.append(f"frame-ancestors allows non-https origins from EMBED_ORIGINS: {', '.join(plain)}")
    if problems:
        fix = "list only https:// origins in EMBED_ORIGINS" if plain else "fix app/web.py security_headers()"
        return [Finding(FAIL, "CSP", "; ".join(problems), fix)]
    return [Finding(PASS, "CSP", f"strict (frame-ancestors {' '.join(ancestors)})")]


def _hsts_findings(settings: Settings, headers: dict[str, str]) -> list[Finding]:
    findings = []
    hsts = headers.get("strict-transport-security", "")
    match = re.search(r"max-age=(\d+)", hsts)
    if not match:
        findings.append(
            Finding(
                FAIL, "HSTS", "no Strict-Transport-Security header", "set ENVIRONMENT=production (HSTS is on there)"
            )
        )
    elif int(match.group(1)) < HSTS_MIN_SECONDS:
        findings.append(Finding(FAIL, "HSTS", f"max-age={match.group(1)} is under 180 days", "raise it"))
    else:
        findings.append(Finding(PASS, "HSTS", hsts))
    missing = []
    if headers.get("x-content-type-options") != "nosniff":
        missing.append("X-Content-Type-Options: nosniff")
    if not headers.get("referrer-policy"):
        missing.append("Referrer-Policy")
    if missing:
        findings.append(Finding(FAIL, "headers", f"missing: {', '.join(missing)}", "fix app/web.py security_headers()"))
    else:
        findings.append(Finding(PASS, "headers", "X-Content-Type-Options: nosniff, Referrer-Policy set"))
    return findings


def _origin_findings(name: str, origins: tuple[str, ...]) -> list[Finding]:
    plain = [origin for origin in origins if not origin.startswith("https://")]
    if plain:
        return [Finding(FAIL, name, f"not https: {', '.join(plain)}", f"list only https:// origins in {name}")]
    return [Finding(PASS, name, ", ".join(origins) if origins else "none")]


def per_minute(limit: RateLimit) -> float:
    return limit.count * 60 / RATE_UNITS[limit.unit]


def _rate_findings(settings: Settings) -> list[Finding]:
    findings = []
    for attribute in ("rate_limit_messages", "rate_limit_uploads", "rate_limit_login", "rate_limit_api"):
        limit: RateLimit = getattr(settings, attribute)
        name = SETTING_NAMES[attribute]
        if per_minute(limit) > ABSURD_PER_MINUTE:
            findings.append(
                Finding(
                    WARN,
                    name,
                    f"{limit} is more than {ABSURD_PER_MINUTE}/minute: it limits nothing",
                    f"use the default ({getattr(Settings(), attribute)!s}) or close to it",
                )
            )
        else:
            findings.append(Finding(PASS, name, str(limit)))
    return findings


def security_audit(settings: Settings) -> list[Finding]:
    """The configuration audit (`sohbet security-check`): any FAIL is a finding; WARN lines are advice."""
    from app import web

    findings: list[Finding] = []
    if settings.is_production:
        findings.append(Finding(PASS, "ENVIRONMENT", "production"))
    else:
        findings.append(
            Finding(FAIL, "ENVIRONMENT", f"{settings.environment}, not production", "set ENVIRONMENT=production")
        )
    weak = [
        f for f in secret_findings(settings, settings, level=FAIL) if f.check not in ("METRICS_TOKEN", "PUBLIC_URL")
    ]
    findings += weak or [Finding(PASS, "secrets", "SECRET_KEY, ENCRYPTION_KEYS and the admin password are strong")]
    if settings.public_url.startswith("https://"):
        findings.append(Finding(PASS, "PUBLIC_URL", settings.public_url))
    else:
        text = f"{settings.public_url} is not https" if settings.public_url else "not set"
        findings.append(Finding(FAIL, "PUBLIC_URL", text, "set PUBLIC_URL to the https:// address users open"))

    try:
        app = _build_app(settings)
    except Exception as exc:
        findings.append(Finding(FAIL, "app", f"create_app() failed: {type(exc).__name__}: {exc}"[:300]))
        return findings
    findings += _cookie_findings(settings, app)
    headers = dict(web.security_headers(settings))
    private = None
    if "frameable" in inspect.signature(web.security_headers).parameters:
        private = dict(web.security_headers(settings, frameable=False))
    findings += _csp_findings(settings, headers, private)
    findings += _hsts_findings(settings, headers)
    findings += _origin_findings("CORS_ORIGINS", settings.cors_origins)
    if app.debug:
        findings.append(Finding(FAIL, "debug", "Litestar debug is on (tracebacks reach the browser)", "fix create_app"))
    else:
        findings.append(Finding(PASS, "debug", "off"))
    findings += _rate_findings(settings)
    auth = app.state.sohbet.auth
    if settings.telegram_configured and auth.can_deliver_codes:
        findings.append(Finding(PASS, "login codes", f"sent through Telegram (chat {settings.telegram_chat_id})"))
    else:
        findings.append(
            Finding(
                FAIL,
                "login codes",
                "no channel in production: Telegram is not configured, so the admin cannot log in",
                "set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID",
            )
        )
    token = settings.metrics_token
    metrics_problems = [p for p in settings.secret_problems() if _problem_name(p) == "METRICS_TOKEN"]
    if metrics_problems:
        findings.append(
            Finding(FAIL, "METRICS_TOKEN", metrics_problems[0], "set METRICS_TOKEN to 16+ random characters")
        )
    elif token:
        findings.append(Finding(PASS, "METRICS_TOKEN", "set: /metrics answers loopback or `Bearer METRICS_TOKEN`"))
    else:
        findings.append(
            Finding(
                PASS,
                "METRICS_TOKEN",
                "not set: /metrics answers loopback clients only (FORWARDED_ALLOW_IPS decides who that is)",
            )
        )
    return findings


# -- cleanup -----------------------------------------------------------------------------------------------

CLEANUP_KINDS: dict[str, str] = {
    "messages": "messages older than MESSAGE_RETENTION",
    "conversations": "conversations idle longer than MESSAGE_RETENTION",
    "unsent_uploads": "API uploads never sent, older than a day",
    "admin_sessions": "expired admin sessions",
    "login_attempts": "login attempts past the failure window",
    "rate_limit_keys": "expired rate-limit keys",
    "telegram_updates": "Telegram updates older than 30 days (the newest is kept)",
    "telegram_outbox": "delivered Telegram outbox rows older than 30 days",
    "queued_files": "files from the deletion queue",
    "orphan_files": "files in UPLOAD_DIR with no attachment, older than an hour",
}


class CleanupError(RuntimeError):
    """The cleanup could not run (no database); the message says why."""


@dataclass
class CleanupReport:
    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLEANUP_KINDS, 0))
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _Rollback(Exception):
    """Ends a dry run's transaction."""


async def _database_steps(settings: Settings, engine: Any, report: CleanupReport, moment: float) -> None:
    from app.models import AdminSession, Conversation, KeyValue, LoginAttempt
    from app.models.db import write_transaction
    from app.services import counters
    from app.services.auth import AuthService, ConsoleCodeSender
    from app.services.realtime import Hub, MemoryBroker, PostgresBroker
    from app.services.retention import Retention
    from app.services.store import DatabaseStore
    from app.services.telegram import pruning as telegram_pruning

    if settings.is_postgres:  # the servers hear the clear on commit, as when their own retention runs
        broker: Any = PostgresBroker(Hub(), settings.database_url, lambda sql, *args: Conversation.raw(sql, *args))
    else:
        broker = MemoryBroker(Hub())
    retention = Retention(engine, broker, settings.message_retention_seconds, lambda: None)
    for kind, count in (await retention.enforce()).items():
        report.counts[kind] = count

    auth = AuthService(
        username=settings.admin_username,
        password_hash=settings.admin_password_hash or "scrypt$unused$unused",
        secret_key=settings.secret_key,
        code_sender=ConsoleCodeSender(enabled=False),
        code_seconds=settings.login_code_seconds,
        idle_seconds=settings.session_idle_seconds,
        absolute_seconds=settings.session_absolute_seconds,
    )
    async with write_transaction(engine):  # counted around the purge, which decides what "expired" means
        sessions, attempts = await AdminSession.count(), await LoginAttempt.count()
        await auth.purge_expired()
        report.counts["admin_sessions"] = max(0, sessions - await AdminSession.count())
        report.counts["login_attempts"] = max(0, attempts - await LoginAttempt.count())
    async with write_transaction(engine):
        keys = await KeyValue.count()
        await DatabaseStore().purge_expired()
        report.counts["rate_limit_keys"] = max(0, keys - await KeyValue.count()) + await counters.purge_expired()

    async with write_transaction(engine):
        report.counts.update(await telegram_pruning.prune(moment - TELEGRAM_KEEP_SECONDS))


def _old_files(upload_dir: Path, moment: float) -> list[Path]:
    """Files in UPLOAD_DIR named like a stored attachment and unchanged for an hour."""
    if not upload_dir.is_dir():
        return []
    found = []
    with os.scandir(upload_dir) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not STORAGE_KEY_RE.fullmatch(entry.name):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < moment - ORPHAN_MIN_AGE_SECONDS:
                    found.append(Path(entry.path))
    return found


async def _orphans(settings: Settings, moment: float) -> list[Path]:
    """Old local files no attachment row (nor the deletion queue) refers to."""
    from app.models import Attachment, FileDeletion

    candidates = await asyncio.to_thread(_old_files, settings.upload_dir, moment)
    if not candidates:
        return []
    attached = await Attachment.select(Attachment.storage_key).where(Attachment.backend == "local")
    queued = await FileDeletion.select(FileDeletion.storage_key).where(FileDeletion.backend == "local")
    known = {row["storage_key"] for row in (*attached, *queued)}
    return [path for path in candidates if path.name not in known]


async def cleanup(settings: Settings, *, dry_run: bool = False) -> CleanupReport:
    """One round of housekeeping (see the module docstring). A dry run counts what would go and changes
    nothing: the database work runs in a transaction that is rolled back, and no file is touched."""
    from app.clock import now
    from app.models import FileDeletion
    from app.models.db import bind_tables, close_engine, make_engine, open_engine, write_transaction
    from app.services.attachments import AttachmentService
    from app.services.storage import make_storage

    if not settings.is_postgres and not settings.sqlite_path.is_file():
        raise CleanupError(f"the database file {settings.sqlite_path} does not exist (check DATABASE_URL)")
    report = CleanupReport(dry_run=dry_run)
    if not settings.message_retention_seconds:
        report.notes.append("MESSAGE_RETENTION is 0: messages and conversations are kept")
    storage = make_storage(settings)
    attachments = AttachmentService(
        storage,
        max_image_bytes=settings.max_image_bytes,
        max_audio_bytes=settings.max_audio_bytes,
        max_pixels=settings.max_image_pixels,
        retry_seconds=settings.file_delete_retry_seconds,
    )
    engine = make_engine(settings.database_url)
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    moment = now()
    try:
        if dry_run:
            with contextlib.suppress(_Rollback):
                async with write_transaction(engine):
                    await _database_steps(settings, engine, report, moment)
                    due = (FileDeletion.next_try_at <= now()) & (FileDeletion.backend == storage.backend)
                    report.counts["queued_files"] = await FileDeletion.count().where(due)
                    report.counts["orphan_files"] = len(await _orphans(settings, moment))
                    raise _Rollback
            return report
        await _database_steps(settings, engine, report, moment)
        while True:  # each call takes up to 200 due rows; a failed one is rescheduled, so this ends
            done = await attachments.delete_pending()
            report.counts["queued_files"] += done
            if done < 200:
                break
        left = await FileDeletion.count()
        if left:
            report.notes.append(f"{left} file deletion(s) still queued (retried later, or another storage backend's)")
        for path in await _orphans(settings, moment):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                report.failures.append(f"{path}: {exc.strerror or type(exc).__name__}")
                continue
            report.counts["orphan_files"] += 1
        return report
    finally:
        await close_engine(engine)


# -- healthcheck -------------------------------------------------------------------------------------------


class BadURL(ValueError):
    """Not an http(s) URL of a server."""


@dataclass
class HealthResult:
    exit_code: int  # 0 ok or degraded, 1 unavailable or unreachable
    status: str
    lines: list[str]


def health_url(url: str, *, ready: bool = False) -> str:
    """URL of the server's /health (or /health/ready); the base may already end in either."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise BadURL(f"{url!r} is not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadURL(f"{url!r} is not an http:// or https:// URL of a server")
    path = parts.path.rstrip("/")
    for suffix in ("/health/ready", "/health"):
        path = path.removesuffix(suffix)
    path += "/health/ready" if ready else "/health"
    return urlunsplit(SplitResult(parts.scheme, parts.netloc, path, "", ""))


def _size(count: Any) -> str:
    number = float(count) if isinstance(count, int | float) else 0.0
    for unit in ("B", "KB", "MB", "GB"):
        if number < 1024:
            return f"{number:.0f} {unit}"
        number /= 1024
    return f"{number:.1f} TB"


def summarize_checks(checks: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(one short text per check, the checks that are degraded) of a /health body's `checks`."""
    parts, degraded = [], []
    for name, value in checks.items():
        bad = False
        if name == "disk" and isinstance(value, dict):
            text = f"{_size(value.get('free_bytes'))} free" + (" (LOW)" if value.get("low") else "")
            bad = bool(value.get("low"))
        elif name == "storage" and isinstance(value, dict):
            pending = value.get("pending_deletions")
            text = f"{value.get('backend')}, {pending} pending deletion(s)"
            bad = bool(pending)
        elif name == "memory" and isinstance(value, dict):
            text = f"{_size(value.get('max_rss_bytes'))} max RSS"
        elif name == "streams" and isinstance(value, dict):
            text = f"{value.get('open')} open"
        elif isinstance(value, dict):
            status = value.get("status", "?")
            text = str(status) + (f" ({value['mode']})" if value.get("mode") else "")
            bad = status in ("backlog", "error", "unknown")
        else:
            text = str(value)
            bad = text not in ("ok", "not configured")
        parts.append(f"{name} {text}")
        if bad:
            degraded.append(f"{name}: {text}")
    return parts, degraded


def healthcheck(url: str, *, timeout: float = 5.0, ready: bool = False, token: str = "") -> HealthResult:
    """GET /health (or /health/ready); with `token`, as `Bearer METRICS_TOKEN` (the details beyond loopback).
    Raises BadURL for a URL that is not one."""
    import httpx

    target = health_url(url, ready=ready)
    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=3) as client:
            headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
            response = client.get(target, headers=headers)
    except httpx.TimeoutException:
        return HealthResult(1, "unreachable", [f"unreachable: no answer from {target} within {timeout:g}s"])
    except httpx.ConnectError as exc:
        return HealthResult(1, "unreachable", [f"unreachable: cannot connect to {target} ({exc})"])
    except httpx.InvalidURL as exc:
        raise BadURL(f"{url!r} is not a usable URL ({exc})") from exc
    except httpx.HTTPError as exc:
        return HealthResult(1, "unreachable", [f"unreachable: {target}: {type(exc).__name__}: {exc}"])
    elapsed = round((time.monotonic() - started) * 1000)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("status"), str):
        return HealthResult(
            1, "error", [f"error: HTTP {response.status_code} from {target} is not a Sohbet health answer"]
        )
    status = str(body["status"])
    about = ", ".join(str(body[key]) for key in ("version", "environment") if body.get(key))
    head = f"{status}: HTTP {response.status_code} from {target} in {elapsed} ms" + (f" ({about})" if about else "")
    parts, degraded = summarize_checks(body.get("checks") or {})
    lines = [head, "checks: " + "; ".join(parts)] if parts else [head]
    lines += [f"degraded: {item}" for item in degraded if status != "ok"]
    healthy = response.status_code == 200 and status in ("ok", "degraded")
    return HealthResult(0 if healthy else 1, status, lines)


# -- predeploy ---------------------------------------------------------------------------------------------


async def database_round_trip(settings: Settings) -> str:
    """Write a row, read it back and delete it (key_value), and read the conversation table."""
    from app.clock import now
    from app.models import Conversation, KeyValue
    from app.models.db import bind_tables, close_engine, make_engine, open_engine

    engine = make_engine(settings.database_url)
    bind_tables(engine)
    await open_engine(engine, pool_size=1)
    started = time.monotonic()
    key = f"sohbet:predeploy:{secrets.token_hex(8)}"
    value = secrets.token_bytes(16)
    try:
        async with asyncio.timeout(30):
            await KeyValue.insert(KeyValue(key=key, value=value, expires_at=now() + 60))
            try:
                row = await KeyValue.select(KeyValue.value).where(KeyValue.key == key).first()
            finally:
                await KeyValue.delete().where(KeyValue.key == key)
            if row is None or bytes(row["value"]) != value:
                raise RuntimeError("the row written was not read back")
            conversations = await Conversation.count()
    finally:
        await close_engine(engine)
    took = round((time.monotonic() - started) * 1000)
    return f"wrote, read back and deleted a key_value row; {conversations} conversation(s) ({took} ms)"


def predeploy(report: Report, environ: dict[str, str] | None = None) -> int:
    """check-env (a FAIL stops), migrate, security-check (production only; a FAIL stops), database round-trip.
    Returns the exit status: 0 all passed, 2 a malformed setting, 1 any other failure."""
    from app.models.db import migrate

    def step(level: str, name: str, text: str) -> None:
        report(f"{level:<4} {name}" + (f": {text}" if text else ""))

    try:
        env_report = asyncio.run(check_env(environ))
    except SettingsError as exc:
        step(FAIL, "check-env", f"configuration error: {exc}")
        report("predeploy: stopped at check-env")
        return 2
    for finding in env_report.findings:
        if finding.level in (WARN, FAIL):
            report(f"    {finding}")
    problems = failed(env_report.findings)
    if problems:
        step(FAIL, "check-env", f"{len(problems)} problem(s): " + ", ".join(f.check for f in problems))
        report("predeploy: stopped at check-env")
        return 1
    warnings = sum(1 for f in env_report.findings if f.level == WARN)
    step(PASS, "check-env", f"{warnings} warning(s)" if warnings else "")
    settings = env_report.settings

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            messages = asyncio.run(migrate(settings.database_url))
    except Exception as exc:
        for line in printed.getvalue().splitlines():
            report(f"    {line}")
        step(FAIL, "migrate", _scrub(f"{type(exc).__name__}: {exc}", settings)[:500])
        report("predeploy: stopped at migrate")
        return 1
    step(PASS, "migrate", "; ".join(m.strip() for m in messages if m.strip()))

    if settings.is_production:
        findings = security_audit(settings)
        for finding in findings:
            if finding.level in (WARN, FAIL):
                report(f"    {finding}")
        problems = failed(findings)
        if problems:
            step(FAIL, "security-check", f"{len(problems)} finding(s): " + ", ".join(f.check for f in problems))
            report("predeploy: stopped at security-check")
            return 1
        step(PASS, "security-check", "")
    else:
        step("SKIP", "security-check", "development (it runs in production only)")

    try:
        text = asyncio.run(database_round_trip(settings))
    except Exception as exc:
        step(FAIL, "database round-trip", _scrub(f"{type(exc).__name__}: {exc}", settings)[:500])
        report("predeploy: stopped at the database round-trip")
        return 1
    step(PASS, "database round-trip", text)
    report("predeploy: ready")
    return 0
