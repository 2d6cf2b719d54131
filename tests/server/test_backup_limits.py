"""`sohbet restore` against crafted archives (issue 11, defect 9): a decompression bomb, an overlong line and an
oversized archive are refused with a message naming the limit, before anything is written, and the restore's
memory stays bounded."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.backup.format import BackupError
from app.backup.limits import RestoreLimits
from app.backup.validate import validate_backup
from app.settings import Settings
from tests.server.test_cli import rewrite
from tests.support import ROOT, base_env, create_database, drop_database, sohbet, start_visitor, tables

PEAK_RUNNER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(done.returncode)\n"
)


@pytest.fixture(scope="module")
def good_backup(make_server, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    server = make_server("backup-source")
    visitor = start_visitor(server.url, "Backup limits")
    assert visitor.post("/chat/messages", {"text": "a message worth keeping"}).status_code == 303
    path = tmp_path_factory.mktemp("limits") / "good.zip"
    done = sohbet(server.env, "backup", str(path))
    assert done.returncode == 0, done.stderr
    return path, server.env


@pytest.fixture
def target(tmp_path, good_backup):
    url = create_database(tmp_path)
    env = {**base_env(tmp_path, url), "ENCRYPTION_KEYS": good_backup[1]["ENCRYPTION_KEYS"]}
    yield env
    drop_database(url)


def restore_with_peak(env: dict[str, str], path: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, int]:
    """`sohbet restore PATH` as a subprocess, and its peak RSS in kB (measured by a parent with no other child)."""
    peak_file = tmp_path / "peak"
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RUNNER, str(peak_file), sys.executable, "-m", "app.cli", "restore", str(path)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, int(peak_file.read_text())


def assert_refused_untouched(done: subprocess.CompletedProcess, env: dict[str, str], message: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sohbet: restore: ") and message in last, done.stderr
    assert "Traceback" not in done.stderr
    assert tables(env["DATABASE_URL"]) == set()  # not even migrated: nothing was written
    uploads = Path(env["DATA_DIR"]) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_a_decompression_bomb_is_refused_with_bounded_memory(good_backup, target, tmp_path):
    """Under 1 MB on disk, one 300 MB JSON line inside (issue 11: 690 MB of peak memory before)."""
    source, _ = good_backup
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in original.namelist():
            if name != "tables/message.jsonl":
                archive.writestr(name, original.read(name))
        with archive.open("tables/message.jsonl", "w", force_zip64=True) as member:
            member.write(b'{"id": 1, "body": "')
            for _ in range(300):
                member.write(b"A" * 1024 * 1024)
            member.write(b'"}\n')
    assert bomb.stat().st_size < 1024 * 1024
    done, peak_kb = restore_with_peak(target, bomb, tmp_path)
    assert_refused_untouched(done, target, "more than the 100:1 compression ratio a backup can have")
    assert "tables/message.jsonl inflates" in done.stderr
    assert peak_kb < 150 * 1024, f"the restore peaked at {peak_kb} kB"
    print(f"restore of the bomb peaked at {peak_kb} kB")


def test_a_line_longer_than_any_row_is_refused(good_backup, target, tmp_path):
    """2 MiB of incompressible text in one row: under the ratio limit, over the line limit."""
    source, _ = good_backup

    def long_body(manifest: dict, members: dict[str, bytes]) -> None:
        row = json.loads(members["tables/message.jsonl"].splitlines()[0])
        row["body"] = base64.b64encode(os.urandom(1536 * 1024)).decode()
        members["tables/message.jsonl"] = json.dumps(row).encode() + b"\n"

    long_line = rewrite(source, tmp_path / "long-line.zip", long_body)
    done = sohbet(target, "restore", str(long_line))
    assert_refused_untouched(done, target, "tables/message.jsonl line 1 is longer than 1 MiB")


def test_the_tables_total_and_the_free_space_are_bounded(good_backup, tmp_path):
    source, env = good_backup
    settings = Settings.from_env({**env, "DATA_DIR": str(tmp_path / "data")})
    validate_backup(source, settings, report=lambda _: None)  # within the default limits
    with pytest.raises(BackupError, match=r"the tables hold .* uncompressed, more than the 100 bytes limit"):
        validate_backup(source, settings, report=lambda _: None, limits=RestoreLimits(table_bytes=100))
    with pytest.raises(BackupError, match=r"line 1 is longer than 64 bytes"):
        validate_backup(source, settings, report=lambda _: None, limits=RestoreLimits(line_bytes=64))
