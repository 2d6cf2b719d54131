"""TELEGRAM_MODE=webhook without TELEGRAM_WEBHOOK_SECRET (SPEC §13): development generates one and keeps it in
data/secrets.json; production derives it from SECRET_KEY, the same in every process; the webhook accepts it and
refuses anything else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet

from app.settings import Settings, derive_webhook_secret
from tests.fakes.telegram import FakeTelegram
from tests.support import wait_until

PUBLIC_URL = "https://chat.example.com"
WEBHOOK = {
    "TELEGRAM_BOT_TOKEN": "1:abc",
    "TELEGRAM_CHAT_ID": "42",
    "TELEGRAM_MODE": "webhook",
    "PUBLIC_URL": PUBLIC_URL,
}
TELEGRAM_ALPHABET = re.compile(r"[A-Za-z0-9_-]{16,256}")


def production(tmp_path, **extra: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "production",
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ADMIN_PASSWORD": "a-long-admin-password",
        "PUBLIC_URL": "https://chat.example.test",
        "METRICS_TOKEN": "metrics-" + "t" * 24,
        **WEBHOOK,
        **extra,
    }


def test_development_generates_and_keeps_the_secret(tmp_path):
    first = Settings.from_env({"DATA_DIR": str(tmp_path), **WEBHOOK})
    assert TELEGRAM_ALPHABET.fullmatch(first.telegram_webhook_secret)
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["TELEGRAM_WEBHOOK_SECRET"] == first.telegram_webhook_secret
    again = Settings.from_env({"DATA_DIR": str(tmp_path), **WEBHOOK})
    assert again.telegram_webhook_secret == first.telegram_webhook_secret
    given = Settings.from_env({"DATA_DIR": str(tmp_path), **WEBHOOK, "TELEGRAM_WEBHOOK_SECRET": "g" * 20})
    assert given.telegram_webhook_secret == "g" * 20
    # Polling needs none: nothing is generated for it.
    polling = Settings.from_env({"DATA_DIR": str(tmp_path / "polling"), **WEBHOOK, "TELEGRAM_MODE": "polling"})
    assert polling.telegram_webhook_secret == ""
    assert "TELEGRAM_WEBHOOK_SECRET" not in json.loads((tmp_path / "polling" / "secrets.json").read_text())


def test_production_derives_the_secret_from_secret_key(tmp_path):
    one = Settings.from_env(production(tmp_path))
    two = Settings.from_env(production(tmp_path))  # another process, the same settings
    assert one.telegram_webhook_secret == two.telegram_webhook_secret == derive_webhook_secret("k" * 40)
    assert TELEGRAM_ALPHABET.fullmatch(one.telegram_webhook_secret)
    assert one.telegram_webhook_secret != derive_webhook_secret("j" * 40)
    assert "k" * 20 not in one.telegram_webhook_secret
    assert not (tmp_path / "secrets.json").exists()  # production never writes generated secrets
    given = Settings.from_env(production(tmp_path, TELEGRAM_WEBHOOK_SECRET="s" * 24))
    assert given.telegram_webhook_secret == "s" * 24


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


def test_production_server_accepts_the_derived_secret_only(make_server, fake):
    secret_key = "w" * 48
    server = make_server(
        "webhook-derived",
        ENVIRONMENT="production",
        SECRET_KEY=secret_key,
        ADMIN_PASSWORD="a-very-long-production-password",
        PUBLIC_URL="http://127.0.0.1",
        TELEGRAM_MODE="webhook",
        TELEGRAM_TIMEOUT="2",
        METRICS_TOKEN="m" * 24,
        **fake.env(),
    )
    derived = derive_webhook_secret(secret_key)
    (call,) = wait_until(lambda: fake.calls_to("setWebhook"), message="setWebhook")[-1:]
    assert call.params["secret_token"] == derived
    url = server.url + "/telegram/webhook"
    update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 99999}, "text": "hello"}}
    for wrong in ("", derive_webhook_secret("x" * 48), derived[:-1]):
        refused = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": wrong})
        assert refused.status_code == 403
    accepted = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": derived})
    assert accepted.status_code == 200 and accepted.json()["ok"] is True
