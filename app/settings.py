"""Settings: every configuration value, read once from the environment (and `.env` when present).

`Settings.from_env()` builds the object; `create_app(settings)` receives it. Tests build their own.
In development, missing secrets are generated once and kept in `data/secrets.json`; in production a missing or
weak secret stops start-up with a message that names it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

from cryptography.fernet import Fernet

from app.setting_values import (
    CLOUDINARY_API,
    RATE_UNITS,
    CloudinaryConfig,
    RateLimit,
    SettingsError,
    SmtpConfig,
    derive_webhook_secret,
    parse_choice,
    parse_count,
    parse_delays,
    parse_duration,
    parse_hours_setting,
    parse_mail_from,
    parse_seconds,
    parse_size,
    parse_smtp_url,
    read_dotenv,
)

__all__ = [
    "RATE_UNITS",
    "CloudinaryConfig",
    "RateLimit",
    "Settings",
    "SettingsError",
    "SmtpConfig",
    "derive_webhook_secret",
    "parse_duration",
    "read_dotenv",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A checkout keeps its data beside the code; an installed package keeps it in the working directory.
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd() / "data"


_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")
_CLOUDINARY_URL_RE = re.compile(
    r"cloudinary://(?P<key>[A-Za-z0-9_-]+):(?P<secret>[^\s:@/?#]+)@(?P<cloud>[A-Za-z0-9_-]+)"
    r"(?:/(?P<distribution>[A-Za-z0-9.-]+(?::\d{1,5})?))?/?",
    re.IGNORECASE,
)
_CLOUD_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
_API_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
_API_SECRET_RE = re.compile(r"[^\s:@/?#]{1,200}")
_HOST_RE = re.compile(r"[A-Za-z0-9.-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_LOOPBACK_RE = re.compile(r"(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?")


def parse_cloudinary(env: dict[str, str], *, production: bool) -> CloudinaryConfig | None:
    """CLOUDINARY_URL (cloudinary://API_KEY:API_SECRET@CLOUD_NAME[/private.cdn.host]) or the three
    CLOUDINARY_CLOUD_NAME / CLOUDINARY_API_KEY / CLOUDINARY_API_SECRET; None when neither is set.
    Error messages name the setting but never repeat its value (it holds the API secret)."""

    def get(name: str) -> str:
        return env.get(name, "").strip()

    url = get("CLOUDINARY_URL")
    part_names = ("CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET")
    parts = {name: get(name) for name in part_names}
    private_cdn, distribution = False, ""
    if url and any(parts.values()):
        raise SettingsError("Set either CLOUDINARY_URL or CLOUDINARY_CLOUD_NAME/_API_KEY/_API_SECRET, not both")
    if url:
        match = _CLOUDINARY_URL_RE.fullmatch(url)
        if not match:
            raise SettingsError(
                "CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME "
                "(the value is not repeated here: it contains the API secret)"
            )
        cloud_name, api_key, api_secret = match.group("cloud"), match.group("key"), unquote(match.group("secret"))
        if match.group("distribution"):
            private_cdn, distribution = True, match.group("distribution")
    elif any(parts.values()):
        for name, value in parts.items():
            if not value:
                given = ", ".join(n for n, v in parts.items() if v)
                raise SettingsError(f"{name} is missing ({given} set; Cloudinary needs all three)")
        checks = zip(part_names, (_CLOUD_NAME_RE, _API_KEY_RE, _API_SECRET_RE), strict=True)
        for name, pattern in checks:
            if not pattern.fullmatch(parts[name]):
                raise SettingsError(f"{name} is malformed (letters, digits, '-' and '_' expected)")
        cloud_name, api_key, api_secret = parts.values()
    else:
        return None

    upload_prefix = (get("CLOUDINARY_UPLOAD_PREFIX") or CLOUDINARY_API).rstrip("/")
    prefix = re.fullmatch(rf"(https?)://({_HOST_RE.pattern})", upload_prefix)
    if not prefix:
        raise SettingsError(f"CLOUDINARY_UPLOAD_PREFIX must be an origin like {CLOUDINARY_API}, got {upload_prefix!r}")
    if production and prefix.group(1) == "http" and not _LOOPBACK_RE.fullmatch(prefix.group(2)):
        raise SettingsError("CLOUDINARY_UPLOAD_PREFIX must use https in production")
    distribution = get("CLOUDINARY_SECURE_DISTRIBUTION") or distribution
    if distribution and not _HOST_RE.fullmatch(distribution):
        raise SettingsError(
            f"CLOUDINARY_SECURE_DISTRIBUTION must be a host name like media.example.com (https is implied), "
            f"got {distribution!r}"
        )
    return CloudinaryConfig(cloud_name, api_key, api_secret, upload_prefix, distribution, private_cdn)


_T = TypeVar("_T")

WEAK_SECRETS = {"", "secret", "changeme", "change-me", "password", "admin", "123456", "dev", "test"}


def setting(env: str, default: _T) -> _T:
    """A field set by the environment variable `env`: its one declaration (from_env, check-env and the docs
    read it from here)."""
    return field(default=default, metadata={"env": env})


def built_in(default: _T) -> _T:
    """A field no environment variable sets (tuned in code and by tests)."""
    return field(default=default, metadata={"env": None})


@dataclass(frozen=True)
class Settings:
    environment: str = setting("ENVIRONMENT", "development")
    host: str = setting("HOST", "127.0.0.1")
    port: int = setting("PORT", 8000)
    database_url: str = setting("DATABASE_URL", "")
    data_dir: Path = setting("DATA_DIR", DEFAULT_DATA_DIR)  # noqa: RUF009 - a field()
    secret_key: str = setting("SECRET_KEY", "")
    encryption_keys: tuple[str, ...] = setting("ENCRYPTION_KEYS", ())
    admin_username: str = setting("ADMIN_USERNAME", "admin")
    admin_password: str = setting("ADMIN_PASSWORD", "")
    admin_password_hash: str = setting("ADMIN_PASSWORD_HASH", "")
    telegram_bot_token: str = setting("TELEGRAM_BOT_TOKEN", "")
    telegram_chat_id: str = setting("TELEGRAM_CHAT_ID", "")
    telegram_mode: str = setting("TELEGRAM_MODE", "polling")
    assignment: str = setting("ASSIGNMENT", "manual")  # manual | round_robin: who gets a new conversation
    telegram_webhook_secret: str = setting("TELEGRAM_WEBHOOK_SECRET", "")
    telegram_api_base: str = setting("TELEGRAM_API_BASE", "https://api.telegram.org")
    public_url: str = setting("PUBLIC_URL", "")
    metrics_token: str = setting("METRICS_TOKEN", "")  # /metrics and the detailed /health from other addresses
    forwarded_allow_ips: tuple[str, ...] = setting("FORWARDED_ALLOW_IPS", ("127.0.0.1", "::1"))  # proxies believed
    allowed_hosts: tuple[str, ...] = setting("ALLOWED_HOSTS", ())  # () = PUBLIC_URL's host and loopback
    # `sohbet serve`: open connections (SSE streams included) before 503
    max_connections: int = setting("MAX_CONNECTIONS", 10_000)
    header_timeout_seconds: float = setting("HEADER_TIMEOUT", 10.0)  # `sohbet serve`: a request head's deadline
    # `sohbet serve`: graceful shutdown, then open connections are cut
    shutdown_timeout_seconds: int = setting("SHUTDOWN_TIMEOUT", 10)
    # None: attachments stay on local disk (UPLOAD_DIR). Also CLOUDINARY_CLOUD_NAME/_API_KEY/_API_SECRET.
    cloudinary: CloudinaryConfig | None = setting("CLOUDINARY_URL", None)  # noqa: RUF009 - a field()
    upload_dir: Path = setting("UPLOAD_DIR", DEFAULT_DATA_DIR / "uploads")  # noqa: RUF009 - a field()
    max_image_bytes: int = setting("MAX_IMAGE_SIZE", 5 * 1024 * 1024)
    max_audio_bytes: int = setting("MAX_AUDIO_SIZE", 10 * 1024 * 1024)
    max_image_pixels: int = built_in(4096 * 4096)  # uploads.ImageBudget: every 12-16 Mpx phone photo fits
    message_retention_seconds: int = setting("MESSAGE_RETENTION", 0)
    embed_origins: tuple[str, ...] = setting("EMBED_ORIGINS", ())
    cors_origins: tuple[str, ...] = setting("CORS_ORIGINS", ())
    log_level: str = setting("LOG_LEVEL", "INFO")
    rate_limit_messages: RateLimit = setting("RATE_LIMIT_MESSAGES", RateLimit(10, "minute"))
    rate_limit_uploads: RateLimit = setting("RATE_LIMIT_UPLOADS", RateLimit(5, "minute"))
    rate_limit_login: RateLimit = setting("RATE_LIMIT_LOGIN", RateLimit(5, "minute"))
    rate_limit_api: RateLimit = setting("RATE_LIMIT_API", RateLimit(100, "minute"))
    rate_limit_start: RateLimit = setting("RATE_LIMIT_START", RateLimit(5, "hour"))  # new conversations per IP
    start_min_seconds: int = setting("START_MIN_SECONDS", 2)  # the start form's minimum fill time (0: off)
    # Not in SPEC §5 but tunable for tests and operators.
    session_idle_seconds: int = setting("SESSION_IDLE_TIMEOUT", 30 * 60)
    session_absolute_seconds: int = setting("SESSION_ABSOLUTE_TIMEOUT", 12 * 3600)
    login_code_seconds: int = setting("LOGIN_CODE_TTL", 300)
    # the first lockout after 10 failed password checks; doubles up to 1 h
    login_lockout_seconds: int = setting("LOGIN_LOCKOUT", 60)
    sse_ping_seconds: float = setting("SSE_PING_SECONDS", 15.0)
    # Open event streams at once, per server process (SPEC §13): 429 beyond.
    max_streams_per_conversation: int = setting("MAX_STREAMS_PER_CONVERSATION", 5)
    max_streams_per_ip: int = setting("MAX_STREAMS_PER_IP", 50)
    max_streams_per_session: int = setting("MAX_STREAMS_PER_SESSION", 10)
    presence_heartbeat_seconds: float = built_in(10.0)
    page_size: int = built_in(50)
    file_delete_retry_seconds: tuple[int, ...] = setting("FILE_DELETE_RETRY_SECONDS", (5, 30, 120, 600, 3600))
    telegram_timeout_seconds: float = setting("TELEGRAM_TIMEOUT", 10.0)  # per Bot API request
    telegram_retry_seconds: tuple[int, ...] = setting("TELEGRAM_RETRY_SECONDS", (2, 5, 15, 60, 300))  # backoff
    telegram_poll_seconds: int = setting("TELEGRAM_POLL_SECONDS", 25)  # getUpdates long-poll wait
    smtp: SmtpConfig | None = setting("SMTP_URL", None)  # None: no mail (SPEC §9)  # noqa: RUF009 - a field()
    mail_from: str = setting("MAIL_FROM", "")
    ask_email: str = setting("ASK_EMAIL", "away")  # never | always | away (while no agent is online)
    email_after_seconds: int = setting("EMAIL_AFTER", 180)  # replies mailed once the visitor was away this long
    business_hours: str = setting("BUSINESS_HOURS", "")  # "" = always open; defaults of /admin/settings (SPEC §9)
    timezone: str = setting("TIMEZONE", "UTC")  # the zone BUSINESS_HOURS is read in
    away_message: str = setting("AWAY_MESSAGE", "")  # "" = the translated default
    expected_reply: str = setting("EXPECTED_REPLY", "")  # e.g. "within a few hours"
    hide_when_away: bool = setting("HIDE_WHEN_AWAY", False)  # the widget offers "leave a message" while away
    typing_preview: bool = setting("TYPING_PREVIEW", False)  # on: agents see the visitor's draft while they type
    smtp_timeout_seconds: float = built_in(30.0)  # per SMTP command
    mail_retry_seconds: tuple[int, ...] = built_in((30, 60, 300, 900, 1800))  # outbox backoff (the last repeats)
    admin_password_generated: bool = built_in(False)  # True when it lives in data/secrets.json, not the environment

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def public_host(self) -> str:
        """PUBLIC_URL's host name (lower case, `[v6]` bracketed), or ""."""
        match = re.fullmatch(r"https?://([^/:]+|\[[^\]]+\])(:\d+)?/?", self.public_url, re.IGNORECASE)
        return match.group(1).lower() if match else ""

    @property
    def served_hosts(self) -> tuple[str, ...]:
        """The Host names answered: ALLOWED_HOSTS, else PUBLIC_URL's host and the loopback names."""
        if self.allowed_hosts:
            return self.allowed_hosts
        return tuple(dict.fromkeys(h for h in (self.public_host, "localhost", "127.0.0.1", "[::1]") if h))

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def cloudinary_configured(self) -> bool:
        return self.cloudinary is not None

    @property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_chat_id)

    @property
    def needs_webhook_secret(self) -> bool:
        return self.telegram_configured and self.telegram_mode == "webhook"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, dotenv: Path | None = None) -> Settings:
        """Build settings from `environ` (default: os.environ over `.env`), validating every value."""
        env: dict[str, str] = {}
        if environ is None:
            env.update(read_dotenv(dotenv or Path.cwd() / ".env"))
            env.update(os.environ)
        else:
            env.update(environ)

        def read(attribute: str, default: str = "") -> tuple[str, str]:
            """(the field's variable name, its value; `default` when the variable is unset)."""
            name = ENV_NAMES[attribute]
            return name, env.get(name, default).strip()

        def filled(attribute: str, default: str) -> tuple[str, str]:
            """Like `read`, with `default` for a blank value too."""
            name, value = read(attribute)
            return name, value or default

        def text(attribute: str, default: str = "") -> str:
            return read(attribute, default)[1]

        name, environment = read("environment", "development")
        environment = environment.lower()
        if environment not in {"development", "production"}:
            raise SettingsError(f"{name} must be 'development' or 'production', got {environment!r}")
        data_dir = Path(text("data_dir") or DEFAULT_DATA_DIR)
        name, database_url = filled("database_url", f"sqlite:///{data_dir / 'sohbet.sqlite3'}")
        if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
            raise SettingsError(f"{name} must start with sqlite:///, postgres:// or postgresql://")
        name, raw_port = read("port", "8000")
        try:
            port = int(raw_port)
        except ValueError as exc:
            raise SettingsError(f"{name} must be a number, got {text('port')!r}") from exc
        name, telegram_mode = read("telegram_mode", "polling")
        telegram_mode = telegram_mode.lower()
        if telegram_mode not in {"webhook", "polling"}:
            raise SettingsError(f"{name} must be 'webhook' or 'polling', got {telegram_mode!r}")
        name, assignment = read("assignment", "manual")
        if assignment.lower() not in {"manual", "round_robin"}:
            raise SettingsError(f"{name} must be 'manual' or 'round_robin', got {assignment!r}")

        def origins(attribute: str) -> tuple[str, ...]:
            name, value = read(attribute)
            items = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
            for origin in items:
                if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", origin):
                    raise SettingsError(f"{name}: {origin!r} is not an origin like https://example.com")
            return items

        def listed(attribute: str, default: str = "") -> tuple[str, ...]:
            return tuple(item.strip().lower() for item in text(attribute, default).split(",") if item.strip())

        forwarded_allow_ips = listed("forwarded_allow_ips", "127.0.0.1,::1")
        for item in forwarded_allow_ips:
            try:
                item == "*" or ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{ENV_NAMES['forwarded_allow_ips']}: {item!r} is not an IP address, a network (CIDR) or *"
                ) from None
        allowed_hosts = listed("allowed_hosts")
        for host in allowed_hosts:
            if host != "*" and not re.fullmatch(r"(\*\.)?[a-z0-9.-]+|\[[0-9a-f:.]+\]", host):
                raise SettingsError(
                    f"{ENV_NAMES['allowed_hosts']}: {host!r} is not a host name like chat.example.com or *.example.com"
                )
        name, raw_connections = filled("max_connections", "10000")
        max_connections = int(raw_connections) if raw_connections.isdigit() else 0
        if max_connections < 10:
            raise SettingsError(f"{name} must be a number of at least 10, got {text('max_connections')!r}")

        settings = cls(
            environment=environment,
            host=text("host", "127.0.0.1"),
            port=port,
            database_url=database_url,
            data_dir=data_dir,
            secret_key=text("secret_key"),
            encryption_keys=tuple(k.strip() for k in text("encryption_keys").split(",") if k.strip()),
            admin_username=text("admin_username", "admin") or "admin",
            admin_password=text("admin_password"),
            admin_password_hash=text("admin_password_hash"),
            telegram_bot_token=text("telegram_bot_token"),
            telegram_chat_id=text("telegram_chat_id"),
            telegram_mode=telegram_mode,
            assignment=assignment.lower(),
            telegram_webhook_secret=text("telegram_webhook_secret"),
            telegram_api_base=filled("telegram_api_base", "https://api.telegram.org")[1].rstrip("/"),
            public_url=text("public_url").rstrip("/"),
            metrics_token=text("metrics_token"),
            forwarded_allow_ips=forwarded_allow_ips,
            allowed_hosts=allowed_hosts,
            max_connections=max_connections,
            header_timeout_seconds=parse_seconds(*filled("header_timeout_seconds", "10")),
            shutdown_timeout_seconds=int(parse_seconds(*filled("shutdown_timeout_seconds", "10"))),
            cloudinary=parse_cloudinary(env, production=environment == "production"),
            upload_dir=Path(text("upload_dir") or data_dir / "uploads"),
            max_image_bytes=parse_size(*read("max_image_bytes", "5MB")),
            max_audio_bytes=parse_size(*read("max_audio_bytes", "10MB")),
            message_retention_seconds=parse_duration(*read("message_retention_seconds", "0")),
            embed_origins=origins("embed_origins"),
            cors_origins=origins("cors_origins"),
            log_level=text("log_level", "INFO").upper(),
            rate_limit_messages=RateLimit.parse(*read("rate_limit_messages", "10/minute")),
            rate_limit_uploads=RateLimit.parse(*read("rate_limit_uploads", "5/minute")),
            rate_limit_login=RateLimit.parse(*read("rate_limit_login", "5/minute")),
            rate_limit_api=RateLimit.parse(*read("rate_limit_api", "100/minute")),
            rate_limit_start=RateLimit.parse(*read("rate_limit_start", "5/hour")),
            start_min_seconds=parse_duration(*read("start_min_seconds", "2")),
            session_idle_seconds=parse_duration(*read("session_idle_seconds", "30m")),
            session_absolute_seconds=parse_duration(*read("session_absolute_seconds", "12h")),
            login_code_seconds=parse_duration(*read("login_code_seconds", "5m")),
            login_lockout_seconds=parse_duration(*read("login_lockout_seconds", "1m")),
            sse_ping_seconds=parse_seconds(*filled("sse_ping_seconds", "15")),
            max_streams_per_conversation=parse_count(*filled("max_streams_per_conversation", "5")),
            max_streams_per_ip=parse_count(*filled("max_streams_per_ip", "50")),
            max_streams_per_session=parse_count(*filled("max_streams_per_session", "10")),
            file_delete_retry_seconds=parse_delays(*filled("file_delete_retry_seconds", "5s,30s,2m,10m,1h")),
            telegram_timeout_seconds=parse_seconds(*filled("telegram_timeout_seconds", "10")),
            telegram_retry_seconds=parse_delays(*filled("telegram_retry_seconds", "2s,5s,15s,1m,5m")),
            telegram_poll_seconds=int(parse_seconds(*filled("telegram_poll_seconds", "25"))),
            smtp=parse_smtp_url(*read("smtp")),
            mail_from=parse_mail_from(*read("mail_from")),
            ask_email=parse_choice(*filled("ask_email", "away"), ("never", "always", "away")),
            email_after_seconds=parse_duration(*filled("email_after_seconds", "3m")),
            business_hours=parse_hours_setting(read("business_hours"), read("timezone")),
            timezone=text("timezone") or "UTC",
            away_message=text("away_message"),
            expected_reply=text("expected_reply"),
            hide_when_away=parse_choice(*filled("hide_when_away", "off"), ("on", "off")) == "on",
            typing_preview=parse_choice(*filled("typing_preview", "off"), ("on", "off")) == "on",
        )
        if not 1 <= settings.login_lockout_seconds <= 3600:
            raise SettingsError("LOGIN_LOCKOUT must be between 1s and 1h, e.g. '1m'")
        if settings.log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL: {settings.log_level!r}")
        if settings.telegram_configured and settings.telegram_mode == "webhook":
            # Telegram must reach us (the secret, when unset, is generated or derived: see with_secrets).
            if not settings.public_url.startswith(("https://", "http://")):
                raise SettingsError("TELEGRAM_MODE=webhook needs PUBLIC_URL (the https address Telegram calls)")
        if settings.telegram_webhook_secret and not _WEBHOOK_SECRET_RE.fullmatch(settings.telegram_webhook_secret):
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z a-z 0-9 _ -")
        if settings.smtp is not None and not settings.mail_from:
            raise SettingsError("SMTP_URL needs MAIL_FROM (the sender address, e.g. chat@example.com)")
        return settings.with_secrets()

    def with_secrets(self) -> Settings:
        """Fill missing secrets (development) or refuse weak ones (production)."""
        if self.is_production:
            problems = self.secret_problems()
            if problems:
                raise SettingsError("Refusing to start in production: " + "; ".join(problems))
            if self.needs_webhook_secret and not self.telegram_webhook_secret:
                return replace(self, telegram_webhook_secret=derive_webhook_secret(self.secret_key))
            return self
        stored_path = self.data_dir / "secrets.json"
        stored: dict[str, str] = {}
        if stored_path.is_file():
            stored = json.loads(stored_path.read_text(encoding="utf-8"))
        if not self.secret_key:
            stored.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        if not self.encryption_keys:
            stored.setdefault("ENCRYPTION_KEYS", Fernet.generate_key().decode())
        if not (self.admin_password or self.admin_password_hash):
            stored.setdefault("ADMIN_PASSWORD", secrets.token_urlsafe(12))
        if self.needs_webhook_secret and not self.telegram_webhook_secret:
            stored.setdefault("TELEGRAM_WEBHOOK_SECRET", secrets.token_urlsafe(32))
        if stored:
            from app.private_files import create_private, private_dir

            private_dir(self.data_dir)
            tmp = stored_path.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)  # left by a crash: its mode is not ours to trust
            with create_private(tmp) as handle:
                handle.write(json.dumps(stored, indent=2).encode("utf-8"))
            tmp.replace(stored_path)
        result = replace(
            self,
            secret_key=self.secret_key or stored["SECRET_KEY"],
            encryption_keys=self.encryption_keys or (stored["ENCRYPTION_KEYS"],),
            admin_password=self.admin_password
            or ("" if self.admin_password_hash else stored.get("ADMIN_PASSWORD", "")),
            admin_password_generated=not (self.admin_password or self.admin_password_hash),
            telegram_webhook_secret=self.telegram_webhook_secret
            or (stored.get("TELEGRAM_WEBHOOK_SECRET", "") if self.needs_webhook_secret else ""),
        )
        problems = [p for p in result.secret_problems() if "Fernet" in p]
        if problems:
            raise SettingsError("; ".join(problems))
        return result

    def secret_problems(self) -> list[str]:
        """Every missing or weak secret, by setting name."""
        return [problem for _, problem in self.weak_secrets()]

    def weak_secrets(self) -> list[tuple[str, str]]:
        """(Settings attribute, message naming its variable) for every missing or weak secret."""
        problems: list[tuple[str, str]] = []
        if len(self.secret_key) < 32 or self.secret_key.lower() in WEAK_SECRETS:
            problems.append(("secret_key", "SECRET_KEY is missing or shorter than 32 characters"))
        if not self.encryption_keys:
            problems.append(("encryption_keys", "ENCRYPTION_KEYS is missing (generate one with `sohbet genkey`)"))
        for index, key in enumerate(self.encryption_keys):
            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                problems.append(("encryption_keys", f"ENCRYPTION_KEYS entry {index + 1} is not a valid Fernet key"))
        if self.admin_password_hash:
            if not self.admin_password_hash.startswith("scrypt$"):
                problems.append(
                    ("admin_password_hash", "ADMIN_PASSWORD_HASH is not a hash made by `sohbet hash-password`")
                )
        elif len(self.admin_password) < 12 or self.admin_password.lower() in WEAK_SECRETS:
            problems.append(("admin_password", "ADMIN_PASSWORD is missing or shorter than 12 characters"))
        if self.telegram_webhook_secret and not _WEBHOOK_SECRET_RE.fullmatch(self.telegram_webhook_secret):
            problems.append(
                ("telegram_webhook_secret", "TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z a-z 0-9 _ -")
            )
        if self.metrics_token and (len(self.metrics_token) < 16 or self.metrics_token.lower() in WEAK_SECRETS):
            problems.append(("metrics_token", "METRICS_TOKEN, when set, must be at least 16 characters"))
        if self.is_production and not self.metrics_token:
            problems.append(
                ("metrics_token", "METRICS_TOKEN is missing (/metrics and the detailed /health need it from outside)")
            )
        if self.is_production and not self.public_host:
            problems.append(
                ("public_url", "PUBLIC_URL is missing (the https address visitors use; it decides trusted origins)")
            )
        return problems


# The environment variable of each Settings attribute that has one (declared by `setting()` above).
ENV_NAMES: dict[str, str] = {item.name: item.metadata["env"] for item in fields(Settings) if item.metadata.get("env")}

# create_app never runs Litestar in debug mode (tracebacks would reach the browser), in any environment.
LITESTAR_DEBUG = False


def login_code_channel(settings: Settings) -> str:
    """Where admin login codes go: "telegram" when it is configured, else "console" in development (printed on
    the server's console), else "" (production without Telegram: no channel, so nobody can log in)."""
    if settings.telegram_configured:
        return "telegram"
    return "" if settings.is_production else "console"
