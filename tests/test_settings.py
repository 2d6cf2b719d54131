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
