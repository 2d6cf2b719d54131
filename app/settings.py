"""Settings: every configuration value, read once from the environment (and `.env` when present).

`Settings.from_env()` builds the object; `create_app(settings)` receives it. Tests build their own.
In development, missing secrets are generated once and kept in `data/secrets.json`; in production a missing or
weak secret stops start-up with a message that names it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

from cryptography.fernet import Fernet

from app.setting_values import (
    RATE_UNITS,
    RateLimit,
    SettingsError,
    parse_count,
    parse_delays,
    parse_duration,
    parse_seconds,
    parse_size,
    read_dotenv,
)

__all__ = ["RATE_UNITS", "RateLimit", "Settings", "SettingsError", "parse_duration", "read_dotenv"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A checkout keeps its data beside the code; an installed package keeps it in the working directory.
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd() / "data"


WEBHOOK_SECRET_LABEL = b"sohbet/telegram-webhook-secret/v1"
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")


def derive_webhook_secret(secret_key: str) -> str:
    """The Telegram webhook secret when TELEGRAM_WEBHOOK_SECRET is unset in production: HMAC-SHA256 of a fixed
    label under SECRET_KEY, base64url without padding — 43 characters of Telegram's alphabet (A-Za-z0-9_-), the
    same in every process."""
    digest = hmac.new(secret_key.encode(), WEBHOOK_SECRET_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


CLOUDINARY_API = "https://api.cloudinary.com"  # the SDK's default upload_prefix
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


@dataclass(frozen=True)
class CloudinaryConfig:
    """Where attachments go when Cloudinary is configured. Built from CLOUDINARY_URL or the three parts.

    `upload_prefix` is the API base the SDK posts to (a loopback fake in tests); delivery URLs are
    `https://<secure_distribution>/...`, `secure_distribution` defaulting to Cloudinary's shared CDN.
    """

    cloud_name: str
    api_key: str
    api_secret: str = field(repr=False)
    upload_prefix: str = CLOUDINARY_API
    secure_distribution: str = ""  # host[:port]; "" = res.cloudinary.com (or <cloud>-res... with a private CDN)
    private_cdn: bool = False

    @property
    def delivery_host(self) -> str:
        if self.secure_distribution:
            return self.secure_distribution
        return f"{self.cloud_name}-res.cloudinary.com" if self.private_cdn else "res.cloudinary.com"

    @property
    def delivery_origin(self) -> str:
        """The origin every delivery URL starts with (for the CSP)."""
        return f"https://{self.delivery_host}"


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


WEAK_SECRETS = {"", "secret", "changeme", "change-me", "password", "admin", "123456", "dev", "test"}


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    data_dir: Path = DEFAULT_DATA_DIR
    secret_key: str = ""
    encryption_keys: tuple[str, ...] = ()
    admin_username: str = "admin"
    admin_password: str = ""
    admin_password_hash: str = ""
    telegram_bot_token: str = ""
    telegram_chat_id: str = ""
    telegram_mode: str = "polling"
    telegram_webhook_secret: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    public_url: str = ""
    metrics_token: str = ""  # Bearer token for /metrics (and the detailed /health) from non-loopback clients
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")  # proxies whose X-Forwarded-For is believed
    allowed_hosts: tuple[str, ...] = ()  # Host header names served; () = PUBLIC_URL's host and loopback
    max_connections: int = 10_000  # `sohbet serve`: open connections (SSE streams included) before 503
    header_timeout_seconds: float = 10.0  # `sohbet serve`: a request head must arrive within this
    shutdown_timeout_seconds: int = 10  # `sohbet serve`: graceful shutdown, then open connections are cut
    cloudinary: CloudinaryConfig | None = None  # None: attachments stay on local disk (UPLOAD_DIR)
    upload_dir: Path = DEFAULT_DATA_DIR / "uploads"
    max_image_bytes: int = 5 * 1024 * 1024
    max_audio_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096  # uploads.ImageBudget: every 12-16 Mpx phone photo fits
    message_retention_seconds: int = 0
    embed_origins: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    log_level: str = "INFO"
    rate_limit_messages: RateLimit = RateLimit(10, "minute")
    rate_limit_uploads: RateLimit = RateLimit(5, "minute")
    rate_limit_login: RateLimit = RateLimit(5, "minute")
    rate_limit_api: RateLimit = RateLimit(100, "minute")
    # Not in SPEC §5 but tunable for tests and operators.
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    login_code_seconds: int = 300
    login_lockout_seconds: int = 60  # the first lockout after 10 failed password checks; doubles up to 1 h
    sse_ping_seconds: float = 15.0
    # Open event streams at once, per server process (SPEC §13): 429 beyond.
    max_streams_per_conversation: int = 5
    max_streams_per_ip: int = 50
    max_streams_per_session: int = 10
    presence_heartbeat_seconds: float = 10.0
    page_size: int = 50
    file_delete_retry_seconds: tuple[int, ...] = (5, 30, 120, 600, 3600)
    telegram_timeout_seconds: float = 10.0  # per Bot API request
    telegram_retry_seconds: tuple[int, ...] = (2, 5, 15, 60, 300)  # outbox backoff on 5xx/timeouts (last repeats)
    telegram_poll_seconds: int = 25  # getUpdates long-poll wait
    admin_password_generated: bool = False  # True when it lives in data/secrets.json, not the environment

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

        def get(name: str, default: str = "") -> str:
            return env.get(name, default).strip()

        environment = get("ENVIRONMENT", "development").lower()
        if environment not in {"development", "production"}:
            raise SettingsError(f"ENVIRONMENT must be 'development' or 'production', got {environment!r}")
        data_dir = Path(get("DATA_DIR") or DEFAULT_DATA_DIR)
        database_url = get("DATABASE_URL") or f"sqlite:///{data_dir / 'sohbet.sqlite3'}"
        if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
            raise SettingsError("DATABASE_URL must start with sqlite:///, postgres:// or postgresql://")
        try:
            port = int(get("PORT", "8000"))
        except ValueError as exc:
            raise SettingsError(f"PORT must be a number, got {get('PORT')!r}") from exc
        telegram_mode = get("TELEGRAM_MODE", "polling").lower()
        if telegram_mode not in {"webhook", "polling"}:
            raise SettingsError(f"TELEGRAM_MODE must be 'webhook' or 'polling', got {telegram_mode!r}")

        def origins(name: str) -> tuple[str, ...]:
            items = tuple(o.strip().rstrip("/") for o in get(name).split(",") if o.strip())
            for origin in items:
                if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", origin):
                    raise SettingsError(f"{name}: {origin!r} is not an origin like https://example.com")
            return items

        def listed(name: str, default: str = "") -> tuple[str, ...]:
            return tuple(item.strip().lower() for item in get(name, default).split(",") if item.strip())

        forwarded_allow_ips = listed("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
        for item in forwarded_allow_ips:
            try:
                item == "*" or ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise SettingsError(
                    f"FORWARDED_ALLOW_IPS: {item!r} is not an IP address, a network (CIDR) or *"
                ) from None
        allowed_hosts = listed("ALLOWED_HOSTS")
        for host in allowed_hosts:
            if host != "*" and not re.fullmatch(r"(\*\.)?[a-z0-9.-]+|\[[0-9a-f:.]+\]", host):
                raise SettingsError(
                    f"ALLOWED_HOSTS: {host!r} is not a host name like chat.example.com or *.example.com"
                )
        try:
            max_connections = int(get("MAX_CONNECTIONS") or "10000")
        except ValueError:
            max_connections = 0
        if max_connections < 10:
            raise SettingsError(f"MAX_CONNECTIONS must be a number of at least 10, got {get('MAX_CONNECTIONS')!r}")

        settings = cls(
            environment=environment,
            host=get("HOST", "127.0.0.1"),
            port=port,
            database_url=database_url,
            data_dir=data_dir,
            secret_key=get("SECRET_KEY"),
            encryption_keys=tuple(k.strip() for k in get("ENCRYPTION_KEYS").split(",") if k.strip()),
            admin_username=get("ADMIN_USERNAME", "admin") or "admin",
            admin_password=get("ADMIN_PASSWORD"),
            admin_password_hash=get("ADMIN_PASSWORD_HASH"),
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_chat_id=get("TELEGRAM_CHAT_ID"),
            telegram_mode=telegram_mode,
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            telegram_api_base=(get("TELEGRAM_API_BASE") or "https://api.telegram.org").rstrip("/"),
            public_url=get("PUBLIC_URL").rstrip("/"),
            metrics_token=get("METRICS_TOKEN"),
            forwarded_allow_ips=forwarded_allow_ips,
            allowed_hosts=allowed_hosts,
            max_connections=max_connections,
            header_timeout_seconds=parse_seconds("HEADER_TIMEOUT", get("HEADER_TIMEOUT") or "10"),
            shutdown_timeout_seconds=int(parse_seconds("SHUTDOWN_TIMEOUT", get("SHUTDOWN_TIMEOUT") or "10")),
            cloudinary=parse_cloudinary(env, production=environment == "production"),
            upload_dir=Path(get("UPLOAD_DIR") or data_dir / "uploads"),
            max_image_bytes=parse_size("MAX_IMAGE_SIZE", get("MAX_IMAGE_SIZE", "5MB")),
            max_audio_bytes=parse_size("MAX_AUDIO_SIZE", get("MAX_AUDIO_SIZE", "10MB")),
            message_retention_seconds=parse_duration("MESSAGE_RETENTION", get("MESSAGE_RETENTION", "0")),
            embed_origins=origins("EMBED_ORIGINS"),
            cors_origins=origins("CORS_ORIGINS"),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            rate_limit_messages=RateLimit.parse("RATE_LIMIT_MESSAGES", get("RATE_LIMIT_MESSAGES", "10/minute")),
            rate_limit_uploads=RateLimit.parse("RATE_LIMIT_UPLOADS", get("RATE_LIMIT_UPLOADS", "5/minute")),
            rate_limit_login=RateLimit.parse("RATE_LIMIT_LOGIN", get("RATE_LIMIT_LOGIN", "5/minute")),
            rate_limit_api=RateLimit.parse("RATE_LIMIT_API", get("RATE_LIMIT_API", "100/minute")),
            session_idle_seconds=parse_duration("SESSION_IDLE_TIMEOUT", get("SESSION_IDLE_TIMEOUT", "30m")),
            session_absolute_seconds=parse_duration("SESSION_ABSOLUTE_TIMEOUT", get("SESSION_ABSOLUTE_TIMEOUT", "12h")),
            login_code_seconds=parse_duration("LOGIN_CODE_TTL", get("LOGIN_CODE_TTL", "5m")),
            login_lockout_seconds=parse_duration("LOGIN_LOCKOUT", get("LOGIN_LOCKOUT", "1m")),
            sse_ping_seconds=parse_seconds("SSE_PING_SECONDS", get("SSE_PING_SECONDS") or "15"),
            max_streams_per_conversation=parse_count(
                "MAX_STREAMS_PER_CONVERSATION", get("MAX_STREAMS_PER_CONVERSATION") or "5"
            ),
            max_streams_per_ip=parse_count("MAX_STREAMS_PER_IP", get("MAX_STREAMS_PER_IP") or "50"),
            max_streams_per_session=parse_count("MAX_STREAMS_PER_SESSION", get("MAX_STREAMS_PER_SESSION") or "10"),
            file_delete_retry_seconds=parse_delays(
                "FILE_DELETE_RETRY_SECONDS", get("FILE_DELETE_RETRY_SECONDS") or "5s,30s,2m,10m,1h"
            ),
            telegram_timeout_seconds=parse_seconds("TELEGRAM_TIMEOUT", get("TELEGRAM_TIMEOUT") or "10"),
            telegram_retry_seconds=parse_delays(
                "TELEGRAM_RETRY_SECONDS", get("TELEGRAM_RETRY_SECONDS") or "2s,5s,15s,1m,5m"
            ),
            telegram_poll_seconds=int(parse_seconds("TELEGRAM_POLL_SECONDS", get("TELEGRAM_POLL_SECONDS") or "25")),
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
        problems: list[str] = []
        if len(self.secret_key) < 32 or self.secret_key.lower() in WEAK_SECRETS:
            problems.append("SECRET_KEY is missing or shorter than 32 characters")
        if not self.encryption_keys:
            problems.append("ENCRYPTION_KEYS is missing (generate one with `sohbet genkey`)")
        for index, key in enumerate(self.encryption_keys):
            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                problems.append(f"ENCRYPTION_KEYS entry {index + 1} is not a valid Fernet key")
        if self.admin_password_hash:
            if not self.admin_password_hash.startswith("scrypt$"):
                problems.append("ADMIN_PASSWORD_HASH is not a hash made by `sohbet hash-password`")
        elif len(self.admin_password) < 12 or self.admin_password.lower() in WEAK_SECRETS:
            problems.append("ADMIN_PASSWORD is missing or shorter than 12 characters")
        if self.telegram_webhook_secret and not _WEBHOOK_SECRET_RE.fullmatch(self.telegram_webhook_secret):
            problems.append("TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z a-z 0-9 _ -")
        if self.metrics_token and (len(self.metrics_token) < 16 or self.metrics_token.lower() in WEAK_SECRETS):
            problems.append("METRICS_TOKEN, when set, must be at least 16 characters")
        if self.is_production and not self.metrics_token:
            problems.append("METRICS_TOKEN is missing (/metrics and the detailed /health need it from outside)")
        if self.is_production and not self.public_host:
            problems.append("PUBLIC_URL is missing (the https address visitors use; it decides trusted origins)")
        return problems
