"""How one environment value is read: rates (`10/minute`), durations (`30d`), sizes (`5MB`), counts, seconds,
delay lists, the `.env` file; the Cloudinary configuration and the derived webhook secret. Each parser names the
setting in its error; `app.settings` puts them together."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path

from app.services.hours import HoursError, parse_hours

CLOUDINARY_API = "https://api.cloudinary.com"  # the SDK's default upload_prefix
RATE_UNITS = {"second": 1, "minute": 60, "hour": 3600}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")


class SettingsError(ValueError):
    """A setting is missing, malformed or too weak; the message names it."""


@dataclass(frozen=True)
class RateLimit:
    """`N` requests per `unit` (second, minute or hour)."""

    count: int
    unit: str

    @classmethod
    def parse(cls, name: str, value: str) -> RateLimit:
        match = _RATE_RE.match(value)
        if not match or int(match.group(1)) < 1:
            raise SettingsError(f"{name} must look like '10/minute' (N/second|minute|hour), got {value!r}")
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.count}/{self.unit}"


def parse_duration(name: str, value: str) -> int:
    """'5m', '30d', '12h', '45s' or '0' -> seconds (0 = off)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", value or "0")
    if not match:
        raise SettingsError(f"{name} must look like '30d', '12h', '5m' or '0', got {value!r}")
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


def parse_seconds(name: str, value: str) -> float:
    """'2.5' -> 2.5: a positive number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise SettingsError(f"{name} must be a number of seconds between 0 and 3600, got {value!r}")
    return seconds


def parse_count(name: str, value: str) -> int:
    """'50' -> 50: a whole number from 1 to 100000."""
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise SettingsError(f"{name} must be a whole number from 1 to 100000, got {value!r}")
    return int(value)


def parse_size(name: str, value: str) -> int:
    """'5MB', '512KB', '10485760' -> bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*(B|KB|MB|GB)?\s*", value or "", re.IGNORECASE)
    if not match or int(match.group(1)) < 1:
        raise SettingsError(f"{name} must look like '5MB', '512KB' or a number of bytes, got {value!r}")
    unit = (match.group(2) or "B").upper()
    return int(match.group(1)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]


def read_dotenv(path: Path) -> dict[str, str]:
    """Minimal `.env` reader: KEY=VALUE lines, optional quotes, `#` comments."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = re.sub(r"^\s+#.*$", "", value).strip()  # `KEY=    # comment`: an empty value, then a comment
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)  # an inline comment after an unquoted value
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def parse_delays(name: str, value: str) -> tuple[int, ...]:
    """'5s,30s,2m' -> (5, 30, 120): each at least one second."""
    delays = tuple(parse_duration(name, item) for item in value.split(","))
    if not delays or min(delays) < 1:
        raise SettingsError(f"{name} must be durations of at least 1s separated by commas, got {value!r}")
    return delays


WEBHOOK_SECRET_LABEL = b"sohbet/telegram-webhook-secret/v1"


def derive_webhook_secret(secret_key: str) -> str:
    """The Telegram webhook secret when TELEGRAM_WEBHOOK_SECRET is unset in production: HMAC-SHA256 of a fixed
    label under SECRET_KEY, base64url without padding — 43 characters of Telegram's alphabet (A-Za-z0-9_-), the
    same in every process."""
    digest = hmac.new(secret_key.encode(), WEBHOOK_SECRET_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


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


@dataclass(frozen=True)
class SmtpConfig:
    """Where mail goes (SMTP_URL): `smtp://user:pass@host:port` (plain, or `?starttls=true`), `smtps://` for TLS on
    connect. The password never appears in a repr, a log line or an error message."""

    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    use_tls: bool = False  # TLS from the first byte (smtps://)
    start_tls: bool = False  # STARTTLS after the greeting

    def __str__(self) -> str:
        scheme = "smtps" if self.use_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}" + ("?starttls=true" if self.start_tls else "")


MAIL_LINKS_MISSING = (
    "SMTP_URL is set but PUBLIC_URL is not: links in mail (the resume link, unsubscribe, attachments) start with "
    "PUBLIC_URL, so they would not work"
)


def mail_links_missing(smtp: SmtpConfig | None, public_url: str) -> bool:
    """Mail is on but its links have no address to start with (`sohbet check-env`, the banner and /health say so)."""
    return smtp is not None and not public_url


def parse_smtp_url(name: str, value: str) -> SmtpConfig | None:
    """SMTP_URL -> SmtpConfig, or None when unset. Errors never repeat the value (it holds the password)."""
    if not value:
        return None
    from urllib.parse import parse_qs, unquote, urlsplit

    problem = f"{name} must look like smtp://user:password@host:587?starttls=true or smtps://user:password@host:465"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise SettingsError(problem) from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError(problem)
    query = {key.lower(): values[-1].lower() for key, values in parse_qs(parts.query).items()}
    start_tls = query.get("starttls", "false") in ("1", "true", "yes", "on")
    if parts.scheme == "smtps" and start_tls:
        raise SettingsError(f"{name}: smtps:// already uses TLS; leave out ?starttls=true")
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 25),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=parts.scheme == "smtps",
        start_tls=start_tls,
    )


def parse_mail_from(name: str, value: str) -> str:
    """MAIL_FROM: an address (`chat@example.com`) or a name and address (`Support <chat@example.com>`)."""
    from email.headerregistry import Address
    from email.utils import parseaddr

    if not value:
        return ""
    display, address = parseaddr(value)
    if "\r" in value or "\n" in value or not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address or ""):
        raise SettingsError(f"{name} must be an address like chat@example.com or 'Support <chat@example.com>'")
    return str(Address(display_name=display, addr_spec=address))


def parse_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value.lower() not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value.lower()


def parse_hours_setting(hours: tuple[str, str], zone: tuple[str, str]) -> str:
    """BUSINESS_HOURS, checked in TIMEZONE (both given as (name, value)); the hours as given."""
    try:
        parse_hours(hours[1], zone[1])
    except HoursError as error:
        if error.code == "hours.zone_unknown":
            raise SettingsError(f"{zone[0]} must be a time zone name like Europe/Istanbul, got {zone[1]!r}") from None
        raise SettingsError(
            f"{hours[0]} must look like 'Mon-Fri 09:00-18:00; Sat 10:00-14:00' ({error.code}: {error.detail!r})"
        ) from None
    return hours[1]
