"""The operations commands as an operator runs them: `sohbet rotate-keys`, `sohbet backup` and `sohbet restore`,
each a real subprocess, against databases filled through real servers (SOHBET_TEST_DB picks the backend; the
cross-backend restore goes from that backend to the other one, so a full run covers both directions)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from tests import media_files
from tests.support import (
    BACKEND,
    ROOT,
    Browser,
    Server,
    base_env,
    create_database,
    drop_database,
    login_admin,
    migrate,
    sohbet,
    sql,
    start_visitor,
    tables,
)

OTHER = "postgres" if BACKEND == "sqlite" else "sqlite"
DATA_TABLES = ("conversation", "message", "attachment", "canned_reply", "conversation_label")


# -- helpers -----------------------------------------------------------------------------------------------


def data_counts(url: str) -> dict[str, int]:
    """Row counts of the data tables that exist."""
    present = tables(url)
    return {name: sql(url, f"SELECT COUNT(*) FROM {name}")[0][0] for name in DATA_TABLES if name in present}


def uploaded_files(env: dict[str, str]) -> list[str]:
    directory = Path(env["DATA_DIR"]) / "uploads"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def send_image(visitor: Browser, caption: str, data: bytes) -> None:
    response = visitor.http.post(
        "/chat/messages",
        data={"text": caption, "_csrf_token": visitor.csrf_token},
        files={"file": ("photo.png", data, "image/png")},
    )
    assert response.status_code == 303, response.text


def send(visitor: Browser, text: str) -> None:
    response = visitor.post("/chat/messages", {"text": text})
    assert response.status_code == 303, response.text


def admin_reply(admin: Browser, thread_id: int, text: str) -> dict:
    admin.get("/admin")  # a fresh CSRF token
    response = admin.http.post(
        "/api/messages/send",
        json={"thread_id": thread_id, "text": text},
        headers={"x-csrftoken": admin.csrf_token, "Accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    return response.json()["message"]


def snapshot(admin: Browser) -> dict[str, dict]:
    """Everything the admin sees through the JSON API: threads, every message, the bytes of every file."""
    threads = admin.get("/api/threads").json()["threads"]
    result: dict[str, dict] = {}
    for thread in threads:
        pages, before = [], None
        while True:
            params = {"limit": 200} if before is None else {"limit": 200, "before": before}
            page = admin.get(f"/api/messages/{thread['id']}", params=params).json()
            pages.insert(0, page["messages"])
            before = page["next_before"]
            if not page["has_more"]:
                break
        messages = []
        for message in itertools.chain.from_iterable(pages):
            item = {key: message[key] for key in ("id", "seq", "sender", "type", "text", "created_at")}
            if message["file_url"]:
                served = admin.http.get(message["file_url"])
                assert served.status_code == 200, served.text
                item["file_sha256"] = hashlib.sha256(served.content).hexdigest()
            messages.append(item)
        result[thread["display_name"]] = {"id": thread["id"], "preview": thread["preview"], "messages": messages}
    return result


@dataclass
class Populated:
    """A server whose database holds two conversations, text in several scripts, an image and admin replies."""

    server: Server
    snapshot: dict[str, dict]
    image: bytes
    texts: list[str]


VISITOR_EMAIL = "ayse@example.com"


def populate(server: Server) -> Populated:
    image = media_files.image("PNG", (40, 30))
    texts = ["Merhaba! Siparişim nerede? ğüşıöç İĞÜŞÖÇ", "<b>bold & 'quoted'</b> 🎉", "line one\nline two"]
    ayse = start_visitor(server.url, "Ayşe")
    assert ayse.post("/chat/email", {"email": VISITOR_EMAIL}).status_code == 303  # kept encrypted (SPEC §9)
    for text in texts:
        send(ayse, text)
    send_image(ayse, "here is the photo", image)
    bob = start_visitor(server.url, "Bob")
    for number in range(4):
        send(bob, f"bob says {number}")
    admin = login_admin(server)
    for thread in admin.get("/api/threads").json()["threads"]:
        admin_reply(admin, thread["id"], f"Hello {thread['display_name']}, how can I help?")
    send(ayse, "thanks!")
    assert admin.post("/admin/canned", {"shortcut": "hello", "text": "Hello {name}!"}).status_code == 303
    ayse_id = next(t["id"] for t in admin.get("/api/threads").json()["threads"] if t["display_name"] == "Ayşe")
    labelled = admin.post(f"/admin/threads/{ayse_id}/labels", {"label": "Öncelikli", "action": "add"})
    assert labelled.status_code == 303
    return Populated(server, snapshot(admin), image, texts)


def expected_counts(populated: Populated) -> dict[str, int]:
    messages = sum(len(thread["messages"]) for thread in populated.snapshot.values())
    return {
        "conversation": len(populated.snapshot),
        "message": messages,
        "attachment": 1,
        "canned_reply": 1,
        "conversation_label": 1,
    }


@pytest.fixture(scope="module")
def populated(make_server: Callable[..., Server]) -> Populated:
    return populate(make_server(name="source"))


@pytest.fixture(scope="module")
def good_backup(populated: Populated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backups") / "good.zip"
    done = sohbet(populated.server.env, "backup", str(path))
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Callable[..., dict[str, str]]]:
    """`target(backend=BACKEND, keys=...)`: the environment of a fresh, never-migrated database."""
    urls: list[str] = []

    def make(backend: str = BACKEND, keys: str | None = None) -> dict[str, str]:
        directory = tmp_path / f"target-{len(urls)}"
        directory.mkdir()
        url = create_database(directory, backend)
        urls.append(url)
        env = base_env(directory, url)
        if keys:
            env["ENCRYPTION_KEYS"] = keys
        return env

    yield make
    for url in urls:
        drop_database(url)


def rewrite(source: Path, destination: Path, change: Callable[[dict, dict[str, bytes]], None]) -> Path:
    """Copy a backup, letting `change(manifest, members)` edit it, with checksums and row counts made consistent
    again: what is left wrong is only what `change` did to the content."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    change(manifest, members)
    for table in manifest["tables"]:
        data = members[table["member"]]
        table["sha256"] = hashlib.sha256(data).hexdigest()
        table["rows"] = data.count(b"\n")
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(manifest))
    return destination


def member_data_offset(path: Path, name: str) -> tuple[int, int]:
    """(offset, length) of a member's stored bytes inside the zip file."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    raw = path.read_bytes()
    header = info.header_offset
    name_length = int.from_bytes(raw[header + 26 : header + 28], "little")
    extra_length = int.from_bytes(raw[header + 28 : header + 30], "little")
    return header + 30 + name_length + extra_length, info.compress_size


def flip_byte(source: Path, destination: Path, member: str) -> Path:
    raw = bytearray(source.read_bytes())
    offset, length = member_data_offset(source, member)
    raw[offset + length // 2] ^= 0x55
    destination.write_bytes(bytes(raw))
    return destination


def under(key: str, token: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


# -- rotate-keys -------------------------------------------------------------------------------------------


def test_rotate_keys_interrupted_then_resumed_while_a_server_writes(make_server):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = make_server(name="rotate-a", ENCRYPTION_KEYS=key_a)
    url = first.env["DATABASE_URL"]
    ayse = start_visitor(first.url, "Ayşe")
    expected = [f"mesaj {number}: gizli şey" for number in range(14)]
    for text in expected:
        send(ayse, text)
    send_image(ayse, "a photo", media_files.image("PNG"))
    expected.append("a photo")
    bob = start_visitor(first.url, "Bob")
    send(bob, "bob's secret")
    first.stop()
    assert all(under(key_a, body) for (body,) in sql(url, "SELECT body FROM message"))

    # A server with the new key first keeps serving (and writing) during the rotation.
    server = make_server(
        name="rotate-ba", DATABASE_URL=url, ENCRYPTION_KEYS=f"{key_b},{key_a}", DATA_DIR=first.env["DATA_DIR"]
    )
    env = server.env
    run = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "rotate-keys", "--batch-size", "2", "--pause", "0.3"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = []
        for line in run.stdout:
            seen.append(line)
            if line.startswith("rotate-keys: message.body:"):
                break
        run.send_signal(signal.SIGKILL)
    finally:
        run.kill()
        run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL, seen
    assert any("rows checked" in line for line in seen), seen
    bodies = [body for (body,) in sql(url, "SELECT body FROM message ORDER BY id")]
    rotated = [under(key_b, body) for body in bodies]
    assert any(rotated) and not all(rotated), "the first run was to stop half-way"
    assert all(under(key_a, body) for body, done in zip(bodies, rotated, strict=True) if not done)

    # The second run finishes the job while the visitor keeps writing through the live server (each message also
    # rewrites its conversation's preview, which the rotation must not overwrite with a stale value).
    writing = Browser(server.url, cookies=ayse.http.cookies)
    writing.get("/")
    stop, errors = threading.Event(), []

    def keep_writing() -> None:
        try:
            for number in range(100):
                if stop.is_set():
                    return
                text = f"written during rotation {number}"
                send(writing, text)
                expected.append(text)
                time.sleep(0.1)
        except Exception as exc:  # reported by the test below
            errors.append(exc)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        done = sohbet(env, "rotate-keys", "--batch-size", "4", "--pause", "0.1")
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not errors, errors
    assert len([text for text in expected if text.startswith("written during")]) >= 3
    assert done.returncode == 0, done.stderr
    assert "rotate-keys: done:" in done.stdout and "re-encrypted" in done.stdout
    assert "gizli" not in done.stdout + done.stderr
    again = sohbet(env, "rotate-keys")
    assert again.returncode == 0, again.stderr
    assert "done: 0 values re-encrypted" in again.stdout  # nothing left: the job is idempotent
    server.stop()

    # Only the new key now: every message and preview still reads.
    only_b = make_server(name="rotate-b", DATABASE_URL=url, ENCRYPTION_KEYS=key_b, DATA_DIR=first.env["DATA_DIR"])
    admin = login_admin(only_b)
    seen_now = snapshot(admin)
    texts = [m["text"] for m in seen_now["Ayşe"]["messages"]]
    assert texts == expected
    assert [m["text"] for m in seen_now["Bob"]["messages"]] == ["bob's secret"]
    for thread in seen_now.values():
        assert "\ufffd" not in thread["preview"] and thread["preview"]
        assert all("\ufffd" not in m["text"] for m in thread["messages"])
    only_b.stop()


def test_rotate_keys_names_rows_no_key_decrypts_and_rotates_the_rest(make_server):
    key_a, key_b, lost = (Fernet.generate_key().decode() for _ in range(3))
    server = make_server(name="rotate-lost", ENCRYPTION_KEYS=key_a)
    url = server.env["DATABASE_URL"]
    visitor = start_visitor(server.url, "Lost")
    for number in range(5):
        send(visitor, f"message {number}")
    server.stop()
    ids = [row[0] for row in sql(url, "SELECT id FROM message ORDER BY id")]
    secret = "the unreadable secret"
    unreadable = Fernet(lost.encode()).encrypt(secret.encode()).decode()
    sql(url, "UPDATE message SET body = ? WHERE id = ?", unreadable, ids[2])
    (conversation_id,) = sql(url, "SELECT id FROM conversation")[0]
    sql(url, "UPDATE conversation SET last_preview = ? WHERE id = ?", unreadable, conversation_id)

    done = sohbet({**server.env, "ENCRYPTION_KEYS": f"{key_b},{key_a}"}, "rotate-keys", "--batch-size", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"message.body row id={ids[2]}: no configured key decrypts" in done.stderr
    assert f"conversation.last_preview row id={conversation_id}: no configured key decrypts" in done.stderr
    assert "could not be decrypted with any configured key" in done.stderr.splitlines()[-1]
    assert secret not in done.stdout + done.stderr and unreadable not in done.stdout + done.stderr
    bodies = dict(sql(url, "SELECT id, body FROM message"))
    assert bodies[ids[2]] == unreadable  # left as it was
    assert all(under(key_b, body) for row_id, body in bodies.items() if row_id != ids[2])


# -- backup and restore ------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_backup_then_restore_on_the_other_backend(populated, make_server, target, tmp_path):
    """SQLite -> PostgreSQL when SOHBET_TEST_DB=sqlite, PostgreSQL -> SQLite when it is postgres."""
    path = tmp_path / "sohbet.zip"
    made = sohbet(populated.server.env, "backup", str(path))  # while the source server runs
    assert made.returncode == 0, made.stderr
    assert "backup: wrote" in made.stdout and "attachment files: 1" in made.stdout
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        members = {name: archive.read(name) for name in archive.namelist()}
    assert manifest["format"] == "sohbet-backup" and manifest["format_version"] == 1
    assert manifest["source"] == ("sqlite" if BACKEND == "sqlite" else "postgresql")
    counts = {table["name"]: table["rows"] for table in manifest["tables"]}
    kept_empty = {
        "file_deletion": 0,
        "workspace_setting": 0,
        "read_mark": 0,
        "resolution": 0,
        "rating": 0,
        **{n: 0 for n in counts if "telegram" in n or n == "mail_outbox"},
    }
    team = {"agent": 1}  # the first owner, made from ADMIN_USERNAME when the source server started
    logins = {n: counts[n] for n in counts if n == "audit_event"}  # the populating admin's logins (SPEC §8 audit)
    assert all(rows >= 1 for rows in logins.values())
    index = {"search_term": counts["search_term"]}  # the blind search index travels (rows depend on the words)
    assert index["search_term"] > len(populated.snapshot)
    assert counts == {**expected_counts(populated), **kept_empty, **team, **logins, **index}
    names = [t["name"] for t in manifest["tables"]]
    assert names[:2] == ["conversation", "message"] and names.index("message") < names.index("attachment")
    assert {"admin_session", "key_value", "presence", "login_attempt"} <= set(manifest["skipped_tables"])
    assert len(manifest["encryption"]["key_fingerprints"][0]) == 16
    for table in manifest["tables"]:
        assert hashlib.sha256(members[table["member"]]).hexdigest() == table["sha256"]
    (file_entry,) = manifest["files"]
    assert file_entry["size"] == len(members[file_entry["member"]])
    everything = b"".join(members.values())
    for text in [*populated.texts, VISITOR_EMAIL]:  # message text and the visitor's email stay encrypted
        assert text.encode() not in everything
    image_digest = next(m["file_sha256"] for m in populated.snapshot["Ayşe"]["messages"] if m.get("file_sha256"))
    assert hashlib.sha256(members[file_entry["member"]]).hexdigest() == image_digest

    env = target(OTHER, keys=populated.server.env["ENCRYPTION_KEYS"])
    restored = sohbet(env, "restore", str(path))
    assert restored.returncode == 0, restored.stderr
    assert "restore: done" in restored.stdout
    assert len(uploaded_files(env)) == 1

    server = make_server(
        name="restored",
        DATABASE_URL=env["DATABASE_URL"],
        ENCRYPTION_KEYS=env["ENCRYPTION_KEYS"],
        DATA_DIR=env["DATA_DIR"],
    )
    try:
        admin = login_admin(server)
        assert snapshot(admin) == populated.snapshot
        assert 'id="canned-hello"' in admin.get("/admin/canned").text  # canned replies travel too
        ayse_page = admin.get(f"/admin/threads/{populated.snapshot['Ayşe']['id']}").text
        assert f"mailto:{VISITOR_EMAIL}" in ayse_page  # the email came back with the conversation
        assert 'data-label="öncelikli"' in ayse_page  # and its label
        found = admin.get("/admin/search", params={"q": "AYSE"}).text  # the index too (the same SECRET_KEY)
        assert f'data-thread="{populated.snapshot["Ayşe"]["id"]}"' in found
        # New rows get fresh ids (PostgreSQL sequences were moved past the restored ones).
        newest = max(m["id"] for thread in populated.snapshot.values() for m in thread["messages"])
        reply = admin_reply(admin, populated.snapshot["Bob"]["id"], "after the move")
        assert reply["id"] > newest
        newcomer = start_visitor(server.url, "Newcomer")
        send(newcomer, "first message on the new database")
        after = snapshot(admin)
        assert after["Newcomer"]["id"] > max(thread["id"] for thread in populated.snapshot.values())
        assert [m["text"] for m in after["Newcomer"]["messages"]] == ["first message on the new database"]
    finally:
        server.stop()


def test_backup_refuses_to_overwrite_unless_forced(populated, tmp_path):
    path = tmp_path / "existing.zip"
    path.write_bytes(b"keep me")
    refused = sohbet(populated.server.env, "backup", str(path))
    assert refused.returncode == 1
    assert (
        refused.stderr.strip().splitlines()[-1] == f"sohbet: backup: {path} already exists (use --force to replace it)"
    )
    assert path.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.zip"]  # no temporary file left
    forced = sohbet(populated.server.env, "backup", "--force", str(path))
    assert forced.returncode == 0, forced.stderr
    assert zipfile.is_zipfile(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.zip"]
    missing_dir = sohbet(populated.server.env, "backup", str(tmp_path / "no-such-dir" / "b.zip"))
    assert missing_dir.returncode == 1 and "does not exist" in missing_dir.stderr


def test_restore_refuses_a_non_empty_database_unless_forced(populated, good_backup, target, tmp_path):
    env = target(keys=populated.server.env["ENCRYPTION_KEYS"])
    first = sohbet(env, "restore", str(good_backup))
    assert first.returncode == 0, first.stderr
    counts = data_counts(env["DATABASE_URL"])
    assert counts == expected_counts(populated)
    files = uploaded_files(env)
    again = sohbet(env, "restore", str(good_backup))
    assert again.returncode == 1
    assert "the target database is not empty" in again.stderr and "--force" in again.stderr
    assert data_counts(env["DATABASE_URL"]) == counts
    forced = sohbet(env, "restore", "--force", str(good_backup))
    assert forced.returncode == 0, forced.stderr
    assert "previous data was replaced" in forced.stdout
    assert data_counts(env["DATABASE_URL"]) == counts  # replaced, not doubled
    assert uploaded_files(env) == files
    assert sql(env["DATABASE_URL"], "SELECT COUNT(*) FROM file_deletion") == [(0,)]

    # Replaced by a backup without the attachment: its file is queued for the servers' usual deletion.
    def drop_attachment(manifest: dict, members: dict[str, bytes]) -> None:
        members["tables/attachment.jsonl"] = b""
        for entry in manifest["files"]:
            del members[entry["member"]]
        manifest["files"] = []

    smaller = rewrite(good_backup, tmp_path / "smaller.zip", drop_attachment)
    replaced = sohbet(env, "restore", "--force", str(smaller))
    assert replaced.returncode == 0, replaced.stderr
    assert data_counts(env["DATABASE_URL"])["attachment"] == 0
    assert sql(env["DATABASE_URL"], "SELECT backend, storage_key FROM file_deletion") == [("local", files[0])]


def test_cli_usage_errors(populated, tmp_path):
    env = populated.server.env
    cases = [
        (("restore",), "the following arguments are required: FILE"),
        (("backup",), "the following arguments are required: FILE"),
        (("restore", "--bogus", "x.zip"), "unrecognized arguments: --bogus"),
        (("backup", "x.zip", "--frobnicate"), "unrecognized arguments: --frobnicate"),
        (("rotate-keys", "--batch-size", "0"), "expected a whole number of at least 1"),
        (("rotate-keys", "--pause", "soon"), "expected seconds"),
        (("rotate-keys", "extra"), "unrecognized arguments: extra"),
    ]
    for args, message in cases:
        done = sohbet(env, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
    nowhere = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'missing.sqlite3'}"}
    for args in (("rotate-keys",), ("backup", str(tmp_path / "b.zip"))):
        done = sohbet(nowhere, *args)
        assert done.returncode == 1 and "missing.sqlite3 does not exist (check DATABASE_URL)" in done.stderr
        assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # neither a database file nor a backup appeared
    for command in ("rotate-keys", "backup", "restore"):
        helped = sohbet(env, command, "--help")
        assert helped.returncode == 0 and f"usage: sohbet {command}" in helped.stdout


def _truncated(good: Path, out: Path) -> Path:
    out.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return out


def _not_an_archive(good: Path, out: Path) -> Path:
    out.write_text("conversation,message\n1,hello\n")
    return out


def _flipped_table(good: Path, out: Path) -> Path:
    return flip_byte(good, out, "tables/message.jsonl")


def _flipped_file(good: Path, out: Path) -> Path:
    with zipfile.ZipFile(good) as archive:
        (member,) = [name for name in archive.namelist() if name.startswith("files/")]
    return flip_byte(good, out, member)


def _wrong_version(good: Path, out: Path) -> Path:
    return rewrite(good, out, lambda manifest, members: manifest.update(format_version=2))


def _no_manifest(good: Path, out: Path) -> Path:
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            if name != "manifest.json":
                archive.writestr(name, source.read(name))
    return out


def _bad_json(good: Path, out: Path) -> Path:
    def change(manifest: dict, members: dict[str, bytes]) -> None:
        lines = members["tables/message.jsonl"].splitlines(keepends=True)
        lines[3] = b'{"id": 4, "body": \n'
        members["tables/message.jsonl"] = b"".join(lines)

    return rewrite(good, out, change)


def _unknown_column(good: Path, out: Path) -> Path:
    def change(manifest: dict, members: dict[str, bytes]) -> None:
        table = next(t for t in manifest["tables"] if t["name"] == "conversation")
        table["columns"].append({"name": "colour", "type": "Varchar", "kind": "text"})
        rows = [json.loads(line) for line in members[table["member"]].splitlines()]
        members[table["member"]] = b"".join(json.dumps({**row, "colour": "red"}).encode() + b"\n" for row in rows)

    return rewrite(good, out, change)


def _wrong_type(good: Path, out: Path) -> Path:
    def change(manifest: dict, members: dict[str, bytes]) -> None:
        rows = [json.loads(line) for line in members["tables/message.jsonl"].splitlines()]
        rows[1]["seq"] = "two"
        members["tables/message.jsonl"] = b"".join(json.dumps(row).encode() + b"\n" for row in rows)

    return rewrite(good, out, change)


def _count_mismatch(good: Path, out: Path) -> Path:
    rewritten = rewrite(good, out.with_suffix(".tmp"), lambda manifest, members: None)
    with zipfile.ZipFile(rewritten) as source:
        members = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(members["manifest.json"])
    next(t for t in manifest["tables"] if t["name"] == "message")["rows"] += 1
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def _stale_checksum(good: Path, out: Path) -> Path:
    """Rows reordered: every line is still valid and the zip is consistent, only the manifest's SHA-256 differs."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            data = source.read(name)
            if name == "tables/message.jsonl":
                lines = data.splitlines(keepends=True)
                data = b"".join([lines[1], lines[0], *lines[2:]])
            archive.writestr(name, data)
    return out


CORRUPTIONS = {
    "truncated": (_truncated, "not a readable zip archive"),
    "not-an-archive": (_not_an_archive, "not a readable zip archive"),
    "flipped-byte-in-table": (_flipped_table, "member tables/message.jsonl is corrupt"),
    "flipped-byte-in-file": (_flipped_file, "is corrupt"),
    "wrong-manifest-version": (_wrong_version, "backup format version 2 is not supported"),
    "no-manifest": (_no_manifest, "has no manifest.json"),
    "bad-json": (_bad_json, "tables/message.jsonl line 4: not valid JSON"),
    "unknown-column": (_unknown_column, "column conversation.colour does not exist"),
    "wrong-type": (_wrong_type, "tables/message.jsonl line 2: column seq is not an integer"),
    "row-count": (_count_mismatch, "rows, manifest.json says"),
    "stale-checksum": (_stale_checksum, "its SHA-256 does not match manifest.json"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_restore_refuses_a_damaged_backup_before_writing_anything(corruption, populated, good_backup, target, tmp_path):
    make, message = CORRUPTIONS[corruption]
    bad = make(good_backup, tmp_path / f"{corruption}.zip")
    env = target(keys=populated.server.env["ENCRYPTION_KEYS"])
    done = sohbet(env, "restore", str(bad))
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sohbet: restore: ") and message in last, done.stderr
    assert "Traceback" not in done.stderr
    assert tables(env["DATABASE_URL"]) == set()  # not even migrated: nothing was written
    assert uploaded_files(env) == []


def test_restore_refuses_missing_file_and_wrong_keys(populated, good_backup, target, tmp_path):
    env = target(keys=populated.server.env["ENCRYPTION_KEYS"])
    missing = sohbet(env, "restore", str(tmp_path / "nope.zip"))
    assert missing.returncode == 1 and "nope.zip: no such file" in missing.stderr
    other_keys = target()  # a fresh key that decrypts nothing of the backup
    wrong = sohbet(other_keys, "restore", str(good_backup))
    assert wrong.returncode == 1
    assert "no configured ENCRYPTION_KEYS entry decrypts" in wrong.stderr and "row id=" in wrong.stderr
    for text in populated.texts:
        assert text not in wrong.stderr
    assert tables(other_keys["DATABASE_URL"]) == set() and uploaded_files(other_keys) == []


def test_a_restore_that_fails_half_way_leaves_nothing_behind(populated, good_backup, target, tmp_path):
    """Valid to every check that runs before writing, refused by the database mid-way (a duplicate (conversation,
    seq)): the transaction rolls back and the attachment file already copied is removed again."""

    def duplicate_last_message(manifest: dict, members: dict[str, bytes]) -> None:
        lines = members["tables/message.jsonl"].splitlines(keepends=True)
        row = json.loads(lines[-1])
        lines.append(json.dumps({**row, "id": row["id"] + 1000}).encode() + b"\n")
        members["tables/message.jsonl"] = b"".join(lines)

    bad = rewrite(good_backup, tmp_path / "duplicate.zip", duplicate_last_message)
    env = target(keys=populated.server.env["ENCRYPTION_KEYS"])
    done = sohbet(env, "restore", str(bad))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "restoring table message failed, nothing was restored" in done.stderr
    assert "Traceback" not in done.stderr
    assert data_counts(env["DATABASE_URL"]) == {
        "conversation": 0,
        "message": 0,
        "attachment": 0,
        "canned_reply": 0,
        "conversation_label": 0,
    }
    assert uploaded_files(env) == []
    # The same database takes the good backup afterwards.
    fine = sohbet(env, "restore", str(good_backup))
    assert fine.returncode == 0, fine.stderr
    assert data_counts(env["DATABASE_URL"]) == expected_counts(populated)


def test_rotation_never_overwrites_a_value_changed_since_it_was_read(tmp_path):
    """The race rotate-keys is built for, staged in-process: a batch is read, a server rewrites one of its rows,
    then the batch is written. The newer value wins; the row is reported back to be read again."""
    from datetime import UTC, datetime

    from app.models import Conversation, Message
    from app.models.db import bind_tables, close_engine, make_engine, open_engine
    from app.services.keys import KeyRing, RotationResult, _ColumnRotation

    url = create_database(tmp_path)
    migrate(url, base_env(tmp_path, url))
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    async def scenario() -> None:
        engine = make_engine(url)
        bind_tables(engine)
        await open_engine(engine, pool_size=2)
        try:
            moment = datetime.now(UTC)
            (conversation,) = await Conversation.insert(
                Conversation(
                    visitor_token_hash="h" * 64, display_name="Race", created_at=moment, last_activity_at=moment
                )
            ).returning(Conversation.id)
            old = [Fernet(key_a.encode()).encrypt(f"old {n}".encode()).decode() for n in range(3)]
            for seq, body in enumerate(old, start=1):
                await Message.insert(
                    Message(conversation=conversation["id"], seq=seq, sender="visitor", body=body, created_at=moment)
                )
            stale = await Message.select(Message.id, Message.body).order_by(Message.id)
            ids = [row["id"] for row in stale]
            newer = Fernet(key_b.encode()).encrypt(b"edited by a server").decode()
            await Message.update({Message.body: newer}).where(Message.id == ids[0])
            await Message.delete().where(Message.id == ids[1])  # gone meanwhile: nothing to retry

            result = RotationResult()
            rotation = _ColumnRotation(engine, KeyRing((key_b, key_a)), Message, "body", result, print)
            assert await rotation._rotate_rows(stale, first_look=True) == [ids[0]]
            bodies = {row["id"]: row["body"] for row in await Message.select(Message.id, Message.body)}
            assert bodies[ids[0]] == newer  # not clobbered with the rotation of the stale value
            assert under(key_b, bodies[ids[2]]) and ids[1] not in bodies
            assert result.rotated == 1
        finally:
            await close_engine(engine)

    try:
        asyncio.run(scenario())
    finally:
        drop_database(url)
