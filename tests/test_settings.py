"""app/settings.py: parsing, .env files, development secrets, production refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.settings import RateLimit, Settings, SettingsError, parse_duration, read_dotenv


def test_rate_limits_and_durations():
    assert RateLimit.parse("X", "10/minute") == RateLimit(10, "minute")
    assert str(RateLimit.parse("X", " 5 / hour ")) == "5/hour"
    for bad in ("10", "ten/minute", "0/minute", "5/day"):
        with pytest.raises(SettingsError, match="X"):
            RateLimit.parse("X", bad)
    assert parse_duration("R", "30d") == 30 * 86400 and parse_duration("R", "5m") == 300
    assert parse_duration("R", "0") == 0
    with pytest.raises(SettingsError, match="R"):
        parse_duration("R", "soon")


def test_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nA=1\nexport B=\"two words\"\nC=three   # trailing comment\nD='#not'\n")
    assert read_dotenv(env_file) == {"A": "1", "B": "two words", "C": "three", "D": "#not"}


def test_development_generates_secrets_once(tmp_path):
    first = Settings.from_env({"DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    assert first.admin_password == second.admin_password and first.admin_password_generated
    assert first.encryption_keys == second.encryption_keys
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["ADMIN_PASSWORD"] == first.admin_password
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0
    assert first.database_url == f"sqlite:///{tmp_path / 'sohbet.sqlite3'}"
    given = Settings.from_env({"DATA_DIR": str(tmp_path), "ADMIN_PASSWORD": "from-the-environment"})
    assert given.admin_password == "from-the-environment" and not given.admin_password_generated


def test_production_names_each_problem(tmp_path):
    good = {
        "ENVIRONMENT": "production",
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ADMIN_PASSWORD": "a-long-admin-password",
        "PUBLIC_URL": "https://chat.example.com",
        "METRICS_TOKEN": "metrics-" + "t" * 24,
    }
    assert Settings.from_env(good).is_production
    named = (("SECRET_KEY", ""), ("ENCRYPTION_KEYS", ""), ("ADMIN_PASSWORD", "short"), ("PUBLIC_URL", ""))
    for name, value in (*named, ("METRICS_TOKEN", "")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**good, name: value})
    assert not (tmp_path / "secrets.json").exists()  # production never writes generated secrets


def test_bad_values_are_named():
    for name, value in (
        ("ENVIRONMENT", "staging"),
        ("DATABASE_URL", "mysql://x"),
        ("PORT", "eighty"),
        ("TELEGRAM_MODE", "carrier-pigeon"),
        ("EMBED_ORIGINS", "not a url"),
        ("LOG_LEVEL", "chatty"),
        ("SSE_PING_SECONDS", "often"),
        ("TELEGRAM_POLL_SECONDS", "-1"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_dotenv_comment_after_an_empty_value_is_not_the_value(tmp_path):
    # `.env.example` has lines like `SECRET_KEY=      # >= 32 random characters`: copied to `.env`, the comment
    # must not become the secret (it is long enough to pass the strength check).
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=                        # >= 32 random characters (signs cookies)\nB=#x\n")
    assert read_dotenv(env_file) == {"SECRET_KEY": "", "B": "#x"}  # a value may still start with '#'
    example = read_dotenv(Path(__file__).resolve().parent.parent / ".env.example")
    assert not [name for name, value in example.items() if value.startswith("#")]


def test_webhook_mode_needs_a_public_url_and_a_strong_secret():
    telegram = {"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_CHAT_ID": "42", "TELEGRAM_MODE": "webhook"}
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        Settings.from_env({**telegram, "TELEGRAM_WEBHOOK_SECRET": "x" * 32})
    for secret in ("short", "has spaces in it!!", "x" * 257):
        with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
            Settings.from_env({**telegram, "PUBLIC_URL": "https://chat.example.com", "TELEGRAM_WEBHOOK_SECRET": secret})


# -- every setting's environment variable, declared once ---------------------------------------------------


def every_variable(tmp_path: Path) -> dict[str, str]:
    """A non-default value for every environment variable a Settings field declares."""
    return {
        "ENVIRONMENT": "production",
        "HOST": "0.0.0.0",
        "PORT": "9000",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}",
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ADMIN_USERNAME": "boss",
        "ADMIN_PASSWORD": "a-long-admin-password",
        "ADMIN_PASSWORD_HASH": "scrypt$a$b",
        "TELEGRAM_BOT_TOKEN": "123:token",
        "TELEGRAM_CHAT_ID": "42",
        "TELEGRAM_MODE": "webhook",
        "ASSIGNMENT": "round_robin",
        "TELEGRAM_WEBHOOK_SECRET": "w" * 20,
        "TELEGRAM_API_BASE": "https://telegram.example.com",
        "PUBLIC_URL": "https://chat.example.com",
        "METRICS_TOKEN": "m" * 20,
        "FORWARDED_ALLOW_IPS": "10.0.0.0/8",
        "ALLOWED_HOSTS": "chat.example.com",
        "MAX_CONNECTIONS": "500",
        "HEADER_TIMEOUT": "5",
        "SHUTDOWN_TIMEOUT": "20",
        "CLOUDINARY_URL": "cloudinary://key:secret@cloud",
        "UPLOAD_DIR": str(tmp_path / "files"),
        "MAX_IMAGE_SIZE": "1MB",
        "MAX_AUDIO_SIZE": "2MB",
        "MESSAGE_RETENTION": "30d",
        "EMBED_ORIGINS": "https://shop.example.com",
        "CORS_ORIGINS": "https://app.example.com",
        "LOG_LEVEL": "DEBUG",
        "RATE_LIMIT_MESSAGES": "11/minute",
        "RATE_LIMIT_UPLOADS": "6/minute",
        "RATE_LIMIT_LOGIN": "7/minute",
        "RATE_LIMIT_API": "101/minute",
        "RATE_LIMIT_START": "6/hour",
        "START_MIN_SECONDS": "3",
        "SESSION_IDLE_TIMEOUT": "10m",
        "SESSION_ABSOLUTE_TIMEOUT": "2h",
        "LOGIN_CODE_TTL": "3m",
        "LOGIN_LOCKOUT": "2m",
        "SSE_PING_SECONDS": "20",
        "MAX_STREAMS_PER_CONVERSATION": "6",
        "MAX_STREAMS_PER_IP": "51",
        "MAX_STREAMS_PER_SESSION": "11",
        "FILE_DELETE_RETRY_SECONDS": "1s,2s",
        "TELEGRAM_TIMEOUT": "3",
        "TELEGRAM_RETRY_SECONDS": "1s,3s",
        "TELEGRAM_POLL_SECONDS": "30",
        "SMTP_URL": "smtp://mailer:p%40ss@mail.example.com:587?starttls=true",
        "MAIL_FROM": "Support <chat@example.com>",
        "ASK_EMAIL": "always",
        "EMAIL_AFTER": "5m",
        "BUSINESS_HOURS": "Mon-Fri 09:00-18:00",
        "TIMEZONE": "Europe/Istanbul",
        "AWAY_MESSAGE": "Back soon",
        "EXPECTED_REPLY": "within a day",
        "HIDE_WHEN_AWAY": "on",
        "TYPING_PREVIEW": "on",
    }


def test_every_field_declares_one_environment_variable_and_from_env_reads_it(tmp_path):
    from dataclasses import fields

    from app.settings import ENV_NAMES

    for item in fields(Settings):  # declared with setting("NAME", default) or built_in(default), nothing else
        assert "env" in item.metadata, f"Settings.{item.name} is declared with neither setting() nor built_in()"
    names = list(ENV_NAMES.values())
    assert len(names) == len(set(names)), "two fields declare the same environment variable"
    assert {"port", "database_url", "max_image_bytes"} <= set(ENV_NAMES)
    assert "page_size" not in ENV_NAMES and "admin_password_generated" not in ENV_NAMES  # built in

    values = every_variable(tmp_path)
    assert set(values) == set(names), "every_variable() must give every declared variable a value"
    settings = Settings.from_env(values)
    defaults = Settings()
    unread = [
        name for attribute, name in ENV_NAMES.items() if getattr(settings, attribute) == getattr(defaults, attribute)
    ]
    assert not unread, f"Settings.from_env() does not read {unread}"
    assert settings.port == 9000 and settings.rate_limit_api == RateLimit(101, "minute")
    assert settings.cloudinary is not None and settings.cloudinary.cloud_name == "cloud"


@pytest.mark.parametrize("attribute", ["port", "max_connections", "max_image_bytes", "sse_ping_seconds", "log_level"])
def test_a_malformed_value_is_refused_by_its_declared_name(attribute, tmp_path):
    from app.settings import ENV_NAMES

    name = ENV_NAMES[attribute]
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"DATA_DIR": str(tmp_path), name: "not-a-value"})


def test_weak_secrets_name_the_attribute():
    settings = Settings(environment="production", secret_key="short", metrics_token="tiny")
    problems = dict(settings.weak_secrets())
    assert {"secret_key", "encryption_keys", "admin_password", "metrics_token", "public_url"} <= set(problems)
    assert problems["secret_key"].startswith("SECRET_KEY ")
    assert settings.secret_problems() == [problem for _, problem in settings.weak_secrets()]


def test_smtp_url_is_parsed_and_its_password_never_shown(tmp_path):
    settings = Settings.from_env(every_variable(tmp_path))
    smtp = settings.smtp
    assert smtp is not None and (smtp.host, smtp.port, smtp.username) == ("mail.example.com", 587, "mailer")
    assert smtp.password == "p@ss" and smtp.start_tls and not smtp.use_tls
    assert "p@ss" not in repr(settings) and "p@ss" not in str(smtp)
    tls = Settings.from_env({"DATA_DIR": str(tmp_path), "SMTP_URL": "smtps://h.example.com", "MAIL_FROM": "a@b.co"})
    assert tls.smtp is not None and tls.smtp.use_tls and tls.smtp.port == 465
    with pytest.raises(SettingsError, match="SMTP_URL") as refused:
        Settings.from_env({"DATA_DIR": str(tmp_path), "SMTP_URL": "http://u:hunter22@h", "MAIL_FROM": "a@b.co"})
    assert "hunter22" not in str(refused.value)
    with pytest.raises(SettingsError, match="MAIL_FROM"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "SMTP_URL": "smtp://h.example.com"})
    with pytest.raises(SettingsError, match="ASK_EMAIL"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "ASK_EMAIL": "sometimes"})


def test_business_hours_and_time_zone_are_checked_at_start(tmp_path):
    base = {"DATA_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="BUSINESS_HOURS") as refused:
        Settings.from_env({**base, "BUSINESS_HOURS": "Mon-Fri 9-18"})
    assert "9-18" in str(refused.value)
    with pytest.raises(SettingsError, match="TIMEZONE"):
        Settings.from_env({**base, "BUSINESS_HOURS": "Mon 09:00-10:00", "TIMEZONE": "Mars/Olympus"})
    with pytest.raises(SettingsError, match="HIDE_WHEN_AWAY"):
        Settings.from_env({**base, "HIDE_WHEN_AWAY": "maybe"})
    settings = Settings.from_env(base)
    assert (settings.business_hours, settings.timezone, settings.hide_when_away) == ("", "UTC", False)
