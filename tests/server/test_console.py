"""The development console (issue 13, finding 12): `sohbet serve` starts with a banner a person can read (the
pages, who logs in, where the code appears), the login code stands on a line of its own, the per-request
`http.response` lines come only with LOG_LEVEL=DEBUG or in production (there exactly as before), and migrating
says one true thing instead of Piccolo's "7 already complete" beside "7 not yet run"."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import httpx
import pytest
from cryptography.fernet import Fernet

from app.logs import access_log_level, highlight, startup_banner
from app.models.db import migration_summary
from app.settings import Settings
from tests.support import (
    BACKEND,
    ROOT,
    Browser,
    base_env,
    create_database,
    drop_database,
    free_port,
    sohbet,
    wait_until,
)

MIGRATIONS = len(list((ROOT / "app" / "models" / "migrations").glob("sohbet_*.py")))
DATABASE_KIND = "PostgreSQL" if BACKEND == "postgres" else "SQLite"  # as the banner names it
PICCOLO_CHATTER = ("already complete", "not yet run", "No migrations need to be run", "ok! ")


# -- migrating -----------------------------------------------------------------------------------------------


def test_migrate_says_what_the_database_is_now(tmp_path):
    url = create_database(tmp_path)
    env = base_env(tmp_path, url)
    try:
        first = sohbet(env, "migrate")
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.splitlines() == [f"database: {MIGRATIONS} migrations applied now ({MIGRATIONS} in all)"]
        again = sohbet(env, "migrate")
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.splitlines() == [f"database: up to date ({MIGRATIONS} migrations)"]
    finally:
        drop_database(url)


def test_migration_summary_counts_in_words():
    assert migration_summary(0, 1) == "up to date (1 migration)"
    assert migration_summary(1, 11) == "1 migration applied now (11 in all)"
    assert migration_summary(3, 10) == "3 migrations applied now (10 in all)"


# -- the start-up banner and the login code ------------------------------------------------------------------


def test_serve_starts_with_a_banner_and_prints_the_login_code_on_its_own_line(tmp_path):
    url = create_database(tmp_path)
    env = {**os.environ, **base_env(tmp_path, url)}
    env.pop("ADMIN_PASSWORD")  # generated: the banner shows it
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    try:

        def ready() -> bool:
            assert process.poll() is None, err.read_text()[-3000:]
            try:
                return httpx.get(base + "/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=30, message="sohbet serve to be ready")
        banner = out.read_text()
        password = json.loads((tmp_path / "data" / "secrets.json").read_text())["ADMIN_PASSWORD"]
        for label, value in [
            ("database", f"{DATABASE_KIND}, {MIGRATIONS} migrations applied now ({MIGRATIONS} in all)"),
            ("visitor page", f"{base}/"),
            ("admin login", f"{base}/login"),
            ("username", "admin"),
            ("password", f"{password}  (generated, kept in {tmp_path / 'data' / 'secrets.json'})"),
            ("login code", "printed here, in this console"),
        ]:
            assert re.search(rf"^  {label} +{re.escape(value)}", banner, re.M), (label, banner)
        assert not any(words in banner for words in PICCOLO_CHATTER), banner

        admin = Browser(base)
        admin.get("/login")
        assert admin.post("/login", {"username": "admin", "password": password}).status_code == 200
        code_line = wait_until(lambda: re.search(r"^.*Login code for admin: (\d{6}).*$", out.read_text(), re.M))
        code = code_line.group(1)
        lines = out.read_text().splitlines()
        at = lines.index(code_line.group(0))
        # Alone between two rules (a blank line around them), and no escape codes in a file.
        assert lines[at] == f"  Login code for admin: {code}  "
        assert lines[at - 1] == lines[at + 1] == "-" * len(lines[at])
        assert lines[at - 2] == lines[at + 2] == ""
        response = admin.post("/login/verify", {"code": code})
        assert response.status_code == 303 and response.headers["location"] == "/admin"
        assert admin.get("/admin").status_code == 200

        log = err.read_text()
        assert '"event": "login.code_sent"' in log  # INFO events still come
        assert '"http.response"' not in log  # ... but not one line per request at the default LOG_LEVEL=INFO
        assert code not in log and password not in log
    finally:
        process.terminate()
        process.wait(timeout=15)
        drop_database(url)


def test_the_banner_in_production_and_with_a_password_from_the_environment(tmp_path):
    development = Settings.from_env({"DATA_DIR": str(tmp_path), "ADMIN_PASSWORD": "the-owners-own-password"})
    banner = startup_banner(development, "0.0.0.0", 8000, "up to date (3 migrations)")
    assert "  visitor page  http://127.0.0.1:8000/\n" in banner
    assert "the one in ADMIN_PASSWORD" in banner and "the-owners-own-password" not in banner
    production = Settings.from_env(
        {
            "ENVIRONMENT": "production",
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "k" * 40,
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ADMIN_PASSWORD": "a-long-admin-password",
            "PUBLIC_URL": "https://chat.example.com",
            "METRICS_TOKEN": "metrics-" + "t" * 24,
        }
    )
    banner = startup_banner(production, "127.0.0.1", 8000, "up to date (3 migrations)")
    assert "(production)" in banner and "username" not in banner and "password" not in banner
    assert "login code    no channel: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID" in banner


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_highlight_is_for_terminals_only(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert highlight("code", Terminal()) == "\033[1;7mcode\033[0m"
    assert highlight("code", io.StringIO()) == "code"  # a file or a pipe: plain
    monkeypatch.setenv("NO_COLOR", "1")
    assert highlight("code", Terminal()) == "code"


# -- access lines --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "log_level", "expected"),
    [("development", "INFO", None), ("development", "DEBUG", "DEBUG"), ("production", "INFO", "INFO")],
)
def test_one_line_per_request_only_at_debug_or_in_production(make_server, environment, log_level, expected):
    overrides = {"ENVIRONMENT": environment, "LOG_LEVEL": log_level}
    if environment == "production":
        overrides.update(METRICS_TOKEN="metrics-" + "t" * 32, PUBLIC_URL="https://chat.example.test")
    server = make_server(f"access-{environment}-{log_level.lower()}", **overrides)
    assert httpx.get(server.url + "/health/live").status_code == 200
    entries = [json.loads(line) for line in server.stderr().splitlines() if '"http.response"' in line]
    live = [entry for entry in entries if entry["path"] == "/health/live"]
    if expected is None:
        assert entries == []
        return
    assert live, server.stderr()[-2000:]
    entry = live[-1]
    assert set(entry) == {"ts", "level", "logger", "event", "method", "path", "status"}  # the line of old
    assert (entry["level"], entry["logger"], entry["method"], entry["status"]) == (expected, "sohbet.http", "GET", 200)


def test_the_access_level_follows_the_environment(tmp_path):
    development = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert access_log_level(development) == logging.DEBUG
    assert access_log_level(development.with_overrides(environment="production")) == logging.INFO
