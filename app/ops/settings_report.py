"""The settings as an operator sees them: parsed exactly as the server parses them but with the secrets as
configured (none generated), each shown safely (secrets only as set/length), and every weak or missing secret
as a finding. `check-env` prints these; `security-check` and `predeploy` start from `configured_settings()`."""

from __future__ import annotations

from dataclasses import fields

from app.ops.findings import FAIL, WARN, Finding, human_size, mask_url
from app.settings import ENV_NAMES, RateLimit, Settings, SettingsError


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


SECRET_FIELDS = (
    "secret_key",
    "admin_password",
    "admin_password_hash",
    "telegram_bot_token",
    "telegram_webhook_secret",
    "metrics_token",
)
HIDDEN_FIELDS = {"admin_password_generated"}  # bookkeeping, not a setting


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
        text = f"{value} bytes ({human_size(value)})"
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
        name = ENV_NAMES.get(item.name, f"{item.name} (built in)")
        lines.append((name, shown_value(effective, item.name, generated=generated)))
    return lines


def secret_findings(configured: Settings, effective: Settings, *, level: str | None = None) -> list[Finding]:
    """Every weak or missing secret (Settings.secret_problems), by name: FAIL in production, WARN in
    development (where missing ones are generated), unless `level` says otherwise; [] when there is none."""
    level = level or (FAIL if configured.is_production else WARN)
    findings = []
    for attribute, problem in configured.weak_secrets():
        name = ENV_NAMES[attribute]
        generated = not getattr(configured, attribute) and bool(getattr(effective, attribute))
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
