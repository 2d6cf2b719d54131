"""app/ops/check_env.py and app/ops/settings_report.py in process: what `sohbet check-env` finds and shows for a
configuration, without a subprocess (the SQLite file is only looked at, never created)."""

from __future__ import annotations

import asyncio

from app.logs import startup_banner
from app.ops.check_env import check_env
from app.ops.findings import FAIL, PASS, WARN
from app.settings import ENV_NAMES, Settings


def test_a_fresh_development_configuration(tmp_path):
    report = asyncio.run(check_env({"DATA_DIR": str(tmp_path)}))
    levels = {finding.check: finding.level for finding in report.findings}
    assert levels["SECRET_KEY"] == WARN and levels["DATA_DIR"] == PASS and levels["DATABASE_URL"] == PASS
    assert report.ok and not (tmp_path / "sohbet.sqlite3").exists()
    shown = dict(report.values)
    assert set(ENV_NAMES.values()) <= set(shown)  # every setting, by its variable's name
    assert shown["SECRET_KEY"].startswith("set (") and "generated for development" in shown["SECRET_KEY"]
    assert shown["page_size (built in)"] == "50"


def test_a_data_dir_that_is_a_file_fails(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = asyncio.run(check_env({"DATA_DIR": str(tmp_path), "UPLOAD_DIR": str(blocker)}))
    upload = next(finding for finding in report.findings if finding.check == "UPLOAD_DIR")
    assert upload.level == FAIL and "is not a directory" in upload.text and not report.ok


def test_the_database_password_is_masked(tmp_path):
    url = "postgresql://sohbet:hunter2@127.0.0.1:1/nothing"
    report = asyncio.run(check_env({"DATA_DIR": str(tmp_path), "DATABASE_URL": url}, db_seconds=2))
    assert "hunter2" not in "\n".join(map(str, report.findings)) + repr(report.values)
    assert dict(report.values)["DATABASE_URL"] == "postgresql://sohbet:***@127.0.0.1:1/nothing"


def test_mail_without_public_url_is_a_warning_everywhere(tmp_path):
    """SMTP_URL set without PUBLIC_URL: the links in mail have no address to start with; check-env, the start-up
    banner (and /health, tests/test_mail.py) say so."""
    mail = {"DATA_DIR": str(tmp_path), "SMTP_URL": "smtp://user:pw@mail.example.com:587", "MAIL_FROM": "c@example.com"}
    report = asyncio.run(check_env(mail))
    warned = [f for f in report.findings if f.level == WARN and f.check == "PUBLIC_URL"]
    assert warned and "links in mail" in warned[0].text and report.ok
    assert any(f.check == "Mail" and f.level == PASS and "mail-test" in f.text for f in report.findings)
    banner = startup_banner(Settings.from_env(mail), "127.0.0.1", 8000, "up to date")
    assert "mail-test" not in banner and "WARNING" in banner and "links in mail" in banner and "pw" not in banner
    with_url = {**mail, "PUBLIC_URL": "https://chat.example.com"}
    report = asyncio.run(check_env(with_url))
    assert not [f for f in report.findings if f.check == "PUBLIC_URL" and "mail" in f.text]
    assert "WARNING" not in startup_banner(Settings.from_env(with_url), "127.0.0.1", 8000, "up to date")
    report = asyncio.run(check_env({"DATA_DIR": str(tmp_path)}))
    assert any(f.check == "Mail" and "not configured" in f.text for f in report.findings)
