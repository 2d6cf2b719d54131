"""Files only the server's own user can read (issue 11, defect 10): with a permissive umask (022), the data and
upload directories are created 0700 and the SQLite database (with its -wal and -shm), uploads, backups, restored
files and secrets.json 0600 — from the moment they exist, not chmodded afterwards."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.settings import Settings
from tests import media_files
from tests.server.test_uploads import upload
from tests.support import BACKEND, base_env, create_database, drop_database, migrate, sohbet, start_visitor


@pytest.fixture
def permissive_umask():
    """022, the usual default: what we create is private only if we ask for it when creating it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(directory: Path) -> dict[str, int]:
    return {path.name: mode(path) for path in directory.iterdir()}


def test_the_database_uploads_and_backups_are_private(make_server, permissive_umask, tmp_path):
    overrides: dict[str, str] = {}
    if BACKEND == "sqlite":  # the default layout: the database inside DATA_DIR, neither existing yet
        data = tmp_path / "data"
        url = f"sqlite:///{data / 'sohbet.sqlite3'}"
        env = base_env(tmp_path, url)
        migrate(url, env)
        overrides = {"DATABASE_URL": url, "DATA_DIR": str(data), "ENCRYPTION_KEYS": env["ENCRYPTION_KEYS"]}
    server = make_server("private", **overrides)
    data = Path(server.env["DATA_DIR"])
    visitor = start_visitor(server.url, "Private files")
    assert upload(visitor, "/chat/messages", "p.png", media_files.image("PNG"), text="hi").status_code == 303
    assert mode(data) == 0o700
    assert mode(data / "uploads") == 0o700
    (picture,) = (data / "uploads").iterdir()
    assert mode(picture) == 0o600
    if BACKEND == "sqlite":
        database = data / "sohbet.sqlite3"
        assert {name: modes(data)[name] for name in modes(data) if name.startswith("sohbet.sqlite3")} == {
            "sohbet.sqlite3": 0o600,
            "sohbet.sqlite3-wal": 0o600,
            "sohbet.sqlite3-shm": 0o600,
        }, modes(data)
        assert database.stat().st_size > 0

    backups = tmp_path / "backups"
    backups.mkdir()
    made = sohbet(server.env, "backup", str(backups / "b.zip"))
    assert made.returncode == 0, made.stderr
    assert modes(backups) == {"b.zip": 0o600}

    target = tmp_path / "target"
    target.mkdir()
    target_url = create_database(target)
    try:
        target_env = {**base_env(target, target_url), "ENCRYPTION_KEYS": server.env["ENCRYPTION_KEYS"]}
        restored = sohbet(target_env, "restore", str(backups / "b.zip"))
        assert restored.returncode == 0, restored.stderr
        target_data = Path(target_env["DATA_DIR"])
        assert mode(target_data) == 0o700 and mode(target_data / "uploads") == 0o700
        assert modes(target_data / "uploads") == {picture.name: 0o600}
        if BACKEND == "sqlite":
            assert mode(Path(target_url.removeprefix("sqlite:///"))) == 0o600
    finally:
        drop_database(target_url)


def test_generated_secrets_are_private(permissive_umask, tmp_path):
    data = tmp_path / "fresh" / "data"
    settings = Settings.from_env({"ENVIRONMENT": "development", "DATA_DIR": str(data)}).with_secrets()
    assert settings.secret_key and settings.admin_password
    assert mode(tmp_path / "fresh") == 0o700 and mode(data) == 0o700
    assert modes(data) == {"secrets.json": 0o600}
    # Written again (a secret added later): still private, no temporary file left.
    Settings.from_env({"ENVIRONMENT": "development", "DATA_DIR": str(data), "SECRET_KEY": "k" * 40}).with_secrets()
    assert modes(data) == {"secrets.json": 0o600}
