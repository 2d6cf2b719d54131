"""The operations commands as an operator (or a container, cron, Railway) runs them: `sohbet check-env`,
`security-check`, `cleanup`, `healthcheck` and `predeploy`, each a real subprocess, against fresh databases
(SOHBET_TEST_DB picks SQLite or PostgreSQL) and real servers. Telegram is configured with a dummy token where
production needs it; nothing here calls Telegram."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import media_files
from tests.support import (
    Browser,
    Server,
    base_env,
    create_database,
    drop_database,
    free_port,
    migrate,
    sohbet,
    sql,
    start_visitor,
    tables,
)

COMMANDS = ("check-env", "security-check", "cleanup", "healthcheck", "predeploy")
DAY = 86400.0


# -- helpers -----------------------------------------------------------------------------------------------


def count(url: str, table: str) -> int:
    return sql(url, f"SELECT COUNT(*) FROM {table}")[0][0]


def counts(output: str) -> dict[str, int]:
    """The per-kind counts `sohbet cleanup` prints ("  messages: 3 - ...")."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^  (\w+): (\d+) - ", output, re.M)}


def storage_key(extension: str = "png") -> str:
    """A name like those LocalStorage gives stored files."""
    return f"{secrets.token_urlsafe(24)}.{extension}"


def aged(path: Path, seconds: float) -> Path:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))
    return path


def production(env: dict[str, str], **overrides: str) -> dict[str, str]:
    """A sound production configuration (Telegram with a dummy token that is never called)."""
    return {
        **env,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ADMIN_PASSWORD": "a-long-admin-password",
        "PUBLIC_URL": "https://chat.example.com",
        "METRICS_TOKEN": "metrics-" + "m" * 24,
        "TELEGRAM_BOT_TOKEN": "123456789:dummy-token-never-called",
        "TELEGRAM_CHAT_ID": "4242",
        "RATE_LIMIT_MESSAGES": "10/minute",
        "RATE_LIMIT_UPLOADS": "5/minute",
        "RATE_LIMIT_LOGIN": "5/minute",
        "RATE_LIMIT_API": "100/minute",
        "RATE_LIMIT_START": "5/hour",
        "START_MIN_SECONDS": "2",
        **overrides,
    }


def lines(done: subprocess.CompletedProcess[str], level: str) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith(level + " ")]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Callable[..., dict[str, str]]]:
    """`fresh(migrated=True)`: the environment of a brand-new database."""
    urls: list[str] = []

    def make(*, migrated: bool = True) -> dict[str, str]:
        url = create_database(tmp_path)
        urls.append(url)
        env = base_env(tmp_path, url)
        if migrated:
            migrate(url, env)
        return env

    yield make
    for url in urls:
        drop_database(url)


# -- usage -------------------------------------------------------------------------------------------------


def test_every_command_explains_itself_and_refuses_unknown_options(tmp_path):
    env = base_env(tmp_path, f"sqlite:///{tmp_path / 'never.sqlite3'}")
    for command in COMMANDS:
        helped = sohbet(env, command, "--help")
        assert helped.returncode == 0, helped.stderr
        assert f"usage: sohbet {command}" in helped.stdout and "Exit status" in helped.stdout
        extra = ("http://127.0.0.1:1",) if command == "healthcheck" else ()
        refused = sohbet(env, command, *extra, "--frobnicate")
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert "unrecognized arguments: --frobnicate" in refused.stderr
    for args, message in [
        (("healthcheck",), "the following arguments are required: URL"),
        (("healthcheck", "http://x", "--timeout", "0"), "expected seconds above 0"),
        (("check-env", "--db-timeout", "soon"), "expected seconds above 0"),
    ]:
        done = sohbet(env, *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    assert not (tmp_path / "never.sqlite3").exists()


# -- check-env ---------------------------------------------------------------------------------------------


def test_check_env_prints_every_setting_with_secrets_masked(fresh):
    env = {**fresh(), "METRICS_TOKEN": "metrics-" + secrets.token_hex(12), "TELEGRAM_BOT_TOKEN": "777:not-a-chat"}
    done = sohbet(env, "check-env")
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    for secret in ("SECRET_KEY", "ADMIN_PASSWORD", "ENCRYPTION_KEYS", "METRICS_TOKEN", "TELEGRAM_BOT_TOKEN"):
        assert env[secret] not in output, secret
    shown = dict(re.findall(r"^  (\S+)\s+(.*)$", done.stdout, re.M))
    assert shown["SECRET_KEY"] == f"set ({len(env['SECRET_KEY'])} characters)"
    assert shown["ADMIN_PASSWORD"] == f"set ({len(env['ADMIN_PASSWORD'])} characters)"
    assert shown["ENCRYPTION_KEYS"] == "1 key(s) set"
    assert shown["PORT"] == "8000" and shown["RATE_LIMIT_API"] == "100000/minute"
    assert shown["DATABASE_URL"].startswith(("sqlite:///", "postgresql://"))
    for name in ("ENVIRONMENT", "UPLOAD_DIR", "MESSAGE_RETENTION", "EMBED_ORIGINS", "TELEGRAM_MODE", "CLOUDINARY_URL"):
        assert name in shown, name
    assert "PASS DATABASE_URL" in done.stdout and "PASS schema" in done.stdout
    assert "PASS DATA_DIR" in done.stdout and "PASS UPLOAD_DIR" in done.stdout
    assert "WARN Telegram: TELEGRAM_CHAT_ID is not set" in done.stdout
    assert "INFO Cloudinary: not configured" in done.stdout
    assert done.stdout.strip().endswith("check-env: ok (1 warning(s))")


def test_check_env_development_warns_about_missing_secrets_it_generates(fresh):
    env = {**fresh(), "SECRET_KEY": "", "ADMIN_PASSWORD": ""}
    done = sohbet(env, "check-env")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARN SECRET_KEY: SECRET_KEY is missing" in done.stdout
    assert "WARN ADMIN_PASSWORD: ADMIN_PASSWORD is missing" in done.stdout
    assert "generated for development" in done.stdout


def test_check_env_names_a_malformed_setting(fresh):
    env = fresh()
    for name, value in (("PORT", "abc"), ("RATE_LIMIT_API", "lots"), ("MESSAGE_RETENTION", "forever")):
        done = sohbet({**env, name: value}, "check-env")
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert "configuration error" in done.stderr and name in done.stderr
        assert "Traceback" not in done.stderr


def test_check_env_in_production_fails_on_a_weak_secret(fresh):
    env = production(fresh(), SECRET_KEY="too-short")
    done = sohbet(env, "check-env")
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = lines(done, "FAIL")
    assert failure.startswith("FAIL SECRET_KEY: SECRET_KEY is missing or shorter than 32 characters")
    assert "too-short" not in done.stdout + done.stderr
    assert done.stdout.strip().endswith("check-env: 1 error(s), 0 warning(s)")
    good = sohbet(production(env), "check-env")
    assert good.returncode == 0, good.stdout
    assert lines(good, "FAIL") == [] and lines(good, "WARN") == []
    assert "PASS Telegram: configured (chat 4242, mode polling" in good.stdout


def test_check_env_reports_an_unreachable_database(tmp_path):
    env = base_env(tmp_path, "postgresql://postgres:pw-not-shown@127.0.0.1:1/x")
    started = time.monotonic()
    done = sohbet(env, "check-env", "--db-timeout", "3")
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = lines(done, "FAIL")
    assert failure.startswith("FAIL DATABASE_URL: cannot reach postgresql://postgres:***@127.0.0.1:1/x")
    assert "pw-not-shown" not in done.stdout + done.stderr
    assert time.monotonic() - started < 30


# -- security-check ----------------------------------------------------------------------------------------


def test_security_check_fails_in_development(fresh):
    done = sohbet(fresh(), "security-check")
    assert done.returncode == 1, done.stdout + done.stderr
    failures = "\n".join(lines(done, "FAIL"))
    assert "FAIL ENVIRONMENT: development, not production -> set ENVIRONMENT=production" in failures
    assert "FAIL cookies: sohbet_visitor is not Secure" in failures and "FAIL HSTS" in failures
    assert "FAIL PUBLIC_URL: not set" in failures
    assert done.stdout.strip().splitlines()[-1].startswith("security-check: ")


def test_security_check_passes_a_sound_production_configuration(fresh):
    env = production(fresh(), EMBED_ORIGINS="https://shop.example.com", CORS_ORIGINS="https://app.example.com")
    done = sohbet(env, "security-check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done, "FAIL") == [] and lines(done, "WARN") == []
    output = done.stdout
    for check in ("ENVIRONMENT", "secrets", "PUBLIC_URL", "cookies", "CSP", "HSTS", "debug", "login codes"):
        assert f"PASS {check}: " in output, check
    assert "sohbet_admin SameSite=Strict" in output and "csrftoken SameSite=Lax" in output
    assert "PASS CSP: strict (frame-ancestors 'self' https://shop.example.com)" in output
    assert "PASS METRICS_TOKEN: set" in output
    assert output.strip().endswith("security-check: no findings")
    assert env["SECRET_KEY"] not in output + done.stderr
    # A limit that limits nothing is a warning, not a finding.
    loose = sohbet({**env, "RATE_LIMIT_LOGIN": "100000/minute"}, "security-check")
    assert loose.returncode == 0, loose.stdout
    assert [line.split(":")[0] for line in lines(loose, "WARN")] == ["WARN RATE_LIMIT_LOGIN"]


@pytest.mark.parametrize(
    ("weakness", "expected"),
    [
        ({"PUBLIC_URL": "http://chat.example.com"}, "FAIL PUBLIC_URL: http://chat.example.com is not https"),
        ({"EMBED_ORIGINS": "https://ok.example.com,http://shop.example.com"}, "EMBED_ORIGINS: http://shop.example.com"),
        ({"ADMIN_PASSWORD": "hunter2"}, "FAIL ADMIN_PASSWORD: ADMIN_PASSWORD is missing or shorter than 12"),
        ({"SECRET_KEY": "x" * 31}, "FAIL SECRET_KEY: SECRET_KEY is missing or shorter than 32 characters"),
        ({"METRICS_TOKEN": "short"}, "FAIL METRICS_TOKEN: METRICS_TOKEN, when set, must be at least 16"),
        ({"CORS_ORIGINS": "http://app.example.com"}, "FAIL CORS_ORIGINS: not https: http://app.example.com"),
        ({"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_CHAT_ID": ""}, "FAIL login codes: no channel in production"),
    ],
    ids=["http-public-url", "http-embed-origin", "weak-password", "short-secret", "weak-metrics", "http-cors", "no-tg"],
)
def test_security_check_names_each_weakness(weakness, expected, tmp_path):
    env = production(base_env(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}"), **weakness)
    done = sohbet(env, "security-check")
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = lines(done, "FAIL")
    assert expected in failure, done.stdout
    assert " -> " in failure  # and how to fix it
    assert done.stdout.strip().endswith("security-check: 1 finding(s)")
    assert not (tmp_path / "unused.sqlite3").exists()  # the audit touches no database


# -- cleanup -----------------------------------------------------------------------------------------------


def send_image(visitor: Browser, caption: str, data: bytes) -> None:
    response = visitor.http.post(
        "/chat/messages",
        data={"text": caption, "_csrf_token": visitor.csrf_token},
        files={"file": ("photo.png", data, "image/png")},
    )
    assert response.status_code == 303, response.text


def test_cleanup_applies_retention_and_removes_orphan_files(make_server: Callable[..., Server]):
    server = make_server(name="cleanup")
    url = server.env["DATABASE_URL"]
    visitor = start_visitor(server.url, "Ayşe")
    for text in ("hello", "is anyone there?"):
        assert visitor.post("/chat/messages", {"text": text}).status_code == 303
    send_image(visitor, "the photo", media_files.image("PNG", (40, 30)))
    visitor.close()
    server.stop()  # the files and rows below are this test's alone
    uploads = Path(server.env["DATA_DIR"]) / "uploads"
    (attached,) = [row[0] for row in sql(url, "SELECT storage_key FROM attachment")]
    assert (uploads / attached).is_file()
    orphan = uploads / storage_key()
    orphan.write_bytes(b"left behind by a crash")
    aged(orphan, 2 * 3600)
    fresh_upload = uploads / storage_key()
    fresh_upload.write_bytes(b"an upload in progress")
    hidden = uploads / f".{storage_key()}.part"
    hidden.write_bytes(b"partial")
    aged(hidden, 2 * 3600)
    foreign = uploads / "README.txt"
    foreign.write_text("not ours")
    aged(foreign, 2 * 3600)
    messages = count(url, "message")
    assert messages >= 3

    time.sleep(1.5)  # past MESSAGE_RETENTION=1s
    env = {**server.env, "MESSAGE_RETENTION": "1s"}
    dry = sohbet(env, "cleanup", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert dry.stdout.startswith("cleanup: dry run, nothing deleted")
    expected = {"messages": messages, "conversations": 1, "queued_files": 1, "orphan_files": 1}
    assert {kind: counts(dry.stdout)[kind] for kind in expected} == expected, dry.stdout
    assert count(url, "message") == messages and count(url, "conversation") == 1
    assert count(url, "attachment") == 1 and count(url, "file_deletion") == 0
    assert (uploads / attached).is_file() and orphan.is_file()

    done = sohbet(env, "cleanup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert {kind: counts(done.stdout)[kind] for kind in expected} == expected, done.stdout
    assert count(url, "message") == 0 and count(url, "conversation") == 0
    assert count(url, "attachment") == 0 and count(url, "file_deletion") == 0
    assert not (uploads / attached).exists() and not orphan.exists()
    assert fresh_upload.is_file() and hidden.is_file() and foreign.is_file()

    again = sohbet(env, "cleanup")
    assert again.returncode == 0 and set(counts(again.stdout).values()) == {0}, again.stdout


def test_cleanup_purges_expired_bookkeeping_rows(fresh):
    env = fresh()  # MESSAGE_RETENTION unset: messages and conversations stay
    url = env["DATABASE_URL"]
    now = time.time()
    sql(
        url,
        "INSERT INTO conversation (visitor_token_hash, display_name) VALUES (?, ?)",
        secrets.token_hex(32),
        "Kept",
    )
    (conversation,) = sql(url, "SELECT id FROM conversation")[0]
    insert_session = "INSERT INTO admin_session (token_hash, username, created_at, last_seen_at) VALUES (?, ?, ?, ?)"
    sql(url, insert_session, secrets.token_hex(32), "admin", now - 3600, now - 3600)  # idle past 30 minutes
    sql(url, insert_session, secrets.token_hex(32), "admin", now - 60, now - 5)  # alive
    insert_attempt = (
        "INSERT INTO login_attempt (token_hash, username, ip, code_hash, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    sql(url, insert_attempt, secrets.token_hex(32), "admin", "10.0.0.1", "h", now - 3600, now - 3300)
    sql(url, insert_attempt, secrets.token_hex(32), "admin", "10.0.0.1", "h", now - 10, now + 290)
    insert_key = "INSERT INTO key_value (key, value, expires_at) VALUES (?, ?, ?)"
    sql(url, insert_key, "rl-login:old", b"[]", now - 5)
    sql(url, insert_key, "rl-login:live", b"[]", now + 60)
    sql(url, insert_key, "sohbet:forever", b"x", None)
    insert_update = "INSERT INTO telegram_update (update_id, outcome, processed_at) VALUES (?, ?, ?)"
    for update_id, age in ((100, 60 * DAY), (101, 31 * DAY), (102, 29 * DAY), (103, DAY)):
        sql(url, insert_update, update_id, "posted", now - age)
    insert_outbox = (
        "INSERT INTO telegram_outbox (conversation, kind, delivered, created_at, delivered_at) VALUES (?, ?, ?, ?, ?)"
    )
    sql(url, insert_outbox, conversation, "new", True, now - 40 * DAY, now - 40 * DAY)  # goes
    sql(url, insert_outbox, conversation, "message", True, now - 2 * DAY, now - 2 * DAY)  # recent
    sql(url, insert_outbox, conversation, "message", False, now - 40 * DAY, None)  # never delivered: stays
    queued = Path(env["DATA_DIR"]) / "uploads" / storage_key()
    queued.parent.mkdir(parents=True, exist_ok=True)
    queued.write_bytes(b"queued for deletion")
    insert_deletion = "INSERT INTO file_deletion (backend, storage_key, next_try_at) VALUES (?, ?, ?)"
    sql(url, insert_deletion, "local", queued.name, 0.0)

    expected = {
        "messages": 0,
        "conversations": 0,
        "unsent_uploads": 0,
        "admin_sessions": 1,
        "login_attempts": 1,
        "rate_limit_keys": 1,
        "telegram_updates": 2,
        "telegram_outbox": 1,
        "queued_files": 1,
        "orphan_files": 0,
    }
    before = {table: count(url, table) for table in ("admin_session", "login_attempt", "key_value", "telegram_update")}
    dry = sohbet(env, "cleanup", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert counts(dry.stdout) == expected, dry.stdout
    assert "MESSAGE_RETENTION is 0" in dry.stdout
    assert {table: count(url, table) for table in before} == before
    assert count(url, "telegram_outbox") == 3 and count(url, "file_deletion") == 1 and queued.is_file()

    done = sohbet(env, "cleanup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert counts(done.stdout) == expected, done.stdout
    assert done.stdout.strip().endswith("cleanup: deleted 7 in all")
    assert count(url, "admin_session") == 1 and count(url, "login_attempt") == 1
    assert sorted(row[0] for row in sql(url, "SELECT key FROM key_value")) == ["rl-login:live", "sohbet:forever"]
    assert sorted(row[0] for row in sql(url, "SELECT update_id FROM telegram_update")) == [102, 103]
    assert count(url, "telegram_outbox") == 2 and count(url, "conversation") == 1
    assert count(url, "file_deletion") == 0 and not queued.exists()

    # Every update old: the newest still stays, the poller's offset comes from it.
    sql(url, "UPDATE telegram_update SET processed_at = ?", now - 90 * DAY)
    sql(url, insert_update, 50, "posted", now - 90 * DAY)
    last = sohbet(env, "cleanup")
    assert counts(last.stdout)["telegram_updates"] == 2, last.stdout
    assert [row[0] for row in sql(url, "SELECT update_id FROM telegram_update")] == [103]


def test_cleanup_without_a_database_says_so(tmp_path):
    env = base_env(tmp_path, f"sqlite:///{tmp_path / 'missing.sqlite3'}")
    done = sohbet(env, "cleanup")
    assert done.returncode == 1
    assert "missing.sqlite3 does not exist (check DATABASE_URL)" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "missing.sqlite3").exists()


# -- healthcheck -------------------------------------------------------------------------------------------


def test_healthcheck(make_server: Callable[..., Server], tmp_path):
    server = make_server(name="health")
    env = base_env(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    done = sohbet(env, "healthcheck", server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    first, checks = done.stdout.splitlines()[:2]
    assert re.match(rf"(ok|degraded): HTTP 200 from {server.url}/health in \d+ ms \(.*development\)$", first), first
    assert checks.startswith(
        "checks: database ok; broker ok; telegram not configured; mail not configured; storage local"
    )
    ready = sohbet(env, "healthcheck", server.url + "/", "--ready", "--timeout", "3")
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert ready.stdout.startswith(f"ok: HTTP 200 from {server.url}/health/ready")

    refused = sohbet(env, "healthcheck", f"http://127.0.0.1:{free_port()}")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout.startswith("unreachable: cannot connect to")

    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        mute = sohbet(env, "healthcheck", f"http://127.0.0.1:{port}", "--timeout", "0.5")
        assert time.monotonic() - started < 20
    assert mute.returncode == 1 and mute.stdout.startswith("unreachable: no answer from"), mute.stdout

    not_sohbet = sohbet(env, "healthcheck", server.url + "/static/app.css/")
    assert not_sohbet.returncode == 1 and "is not a Sohbet health answer" in not_sohbet.stdout

    for bad in ("not a url", "ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999"):
        done = sohbet(env, "healthcheck", bad)
        assert done.returncode == 2, (bad, done.stdout, done.stderr)
        assert done.stderr.startswith("sohbet: healthcheck: ") and "Traceback" not in done.stderr


# -- predeploy ---------------------------------------------------------------------------------------------


def test_predeploy_migrates_a_fresh_database(fresh):
    env = fresh(migrated=False)
    url = env["DATABASE_URL"]
    assert "conversation" not in tables(url)
    done = sohbet(env, "predeploy")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [line.split(":")[0] for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert steps == [
        "PASS check-env",
        "PASS migrate",
        "SKIP security-check",
        "PASS database round-trip",
        "predeploy",
    ], done.stdout
    assert {"conversation", "message", "attachment", "migration"} <= tables(url)
    assert count(url, "key_value") == 0  # the round-trip's row is gone
    again = sohbet(env, "predeploy")  # nothing left to migrate: still fine
    assert again.returncode == 0, again.stdout + again.stderr


def test_predeploy_runs_the_security_check_in_production(fresh):
    env = production(fresh(migrated=False))
    done = sohbet(env, "predeploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS security-check" in done.stdout and "PASS database round-trip" in done.stdout
    insecure = sohbet({**env, "PUBLIC_URL": "http://chat.example.com"}, "predeploy")
    assert insecure.returncode == 1, insecure.stdout
    assert "FAIL security-check: 1 finding(s): PUBLIC_URL" in insecure.stdout
    assert insecure.stdout.strip().endswith("predeploy: stopped at security-check")
    assert "database round-trip" not in insecure.stdout


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"PORT": "abc"}, 2, "FAIL check-env: configuration error: PORT must be a number"),
        (
            {
                "ENVIRONMENT": "production",
                "SECRET_KEY": "weak",
                "PUBLIC_URL": "https://chat.example.com",
                "METRICS_TOKEN": "metrics-" + "m" * 24,
            },
            1,
            "FAIL check-env: 1 problem(s): SECRET_KEY",
        ),
    ],
    ids=["bad-setting", "weak-secret-in-production"],
)
def test_predeploy_stops_at_check_env_before_migrating(overrides, status, message, fresh):
    env = {**fresh(migrated=False), **overrides}
    done = sohbet(env, "predeploy")
    assert done.returncode == status, done.stdout + done.stderr
    assert message in done.stdout
    assert done.stdout.strip().endswith("predeploy: stopped at check-env")
    assert not re.search(r"^\w+ migrate", done.stdout, re.M)  # the migrate step never ran
    assert tables(env["DATABASE_URL"]) == set()  # not migrated
