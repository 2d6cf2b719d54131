"""Portable backups: `sohbet backup FILE` writes one zip file that `sohbet restore FILE` loads into any Sohbet
database, SQLite or PostgreSQL, with the attachment files that live on local disk.

Archive format, version 1 (a zip file):

    tables/<table>.jsonl   one JSON object per row (keys: the column names), rows in primary-key order
    files/<storage_key>    the bytes of every attachment stored on local disk (UPLOAD_DIR), stored uncompressed
    manifest.json          written last; describes and checksums everything else

manifest.json holds `format` ("sohbet-backup"), `format_version` (1), `app_version`, `created_at` (ISO 8601, UTC),
`source` ("sqlite" or "postgresql"), `schema_migration` (the last migration applied at the source),
`encryption` (`key_fingerprints`: a short SHA-256 fingerprint of each ENCRYPTION_KEYS entry at backup time, the
first one encrypting; `columns`: the encrypted columns), `tables` (in dependency order, parents first: `name`,
`member`, `rows`, `sha256` of the member, and `columns` as `name`/`type`/`kind`), `files` (`key`, `member`, `size`,
`sha256`), `missing_files` (local attachments whose file was already gone when the backup ran) and
`skipped_tables`.

Values: integers and floats as JSON numbers, booleans as JSON booleans, text as strings, timestamps as ISO 8601
strings with their UTC offset, bytes as base64, NULL as null. Encrypted columns stay encrypted, exactly as stored:
the target needs the same ENCRYPTION_KEYS (at least the keys the data was written with); restore checks that.

Kept: conversations, messages, attachments (their rows, and the files of those on local disk; a Cloudinary
attachment keeps its storage key and its file stays at Cloudinary), pending file deletions, the Telegram tables
(outbox, message links, forum topics, handled updates, which also give the polling offset), and any table added
later unless it is listed in SKIPPED_TABLES. Skipped: admin sessions and pending logins (admins log in again),
rate-limit counters (`key_value`), presence (rebuilt by live servers within seconds) and job leases (they expire):
short-lived state that means nothing on another database.

The backup reads one consistent snapshot (a REPEATABLE READ, READ ONLY transaction on PostgreSQL; one read
transaction under WAL on SQLite), so it can run while servers do. It is written to a temporary file next to FILE,
synced, then renamed into place: a failed or interrupted backup never leaves a half-written FILE.

Restore validates the whole archive first (the members' stated sizes against `archive_limits.RestoreLimits` —
compression ratio, total size, free space —, manifest, every checksum, every JSON line against the current schema
and the line-length limit, a sample of encrypted values against the configured keys) and writes nothing if anything
is wrong. Then it runs the migrations, refuses a target that already holds data (unless `force`, which replaces it),
copies the files into UPLOAD_DIR and inserts every row, primary keys kept, in one write transaction; PostgreSQL
sequences are moved past the restored ids. On any failure the transaction rolls back and the files it wrote are
removed (a restore killed outright can leave copied files that no row references; they are harmless and can be
deleted). Visitor cookies are signed with SECRET_KEY: give the target the same SECRET_KEY, or visitors start new
conversations.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import os
import secrets
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from piccolo.columns import Column, ForeignKey, Varchar
from piccolo.engine.base import Engine
from piccolo.table import Table

from app.models import ALL_TABLES, Attachment, FileDeletion
from app.models.db import bind_tables, close_engine, is_sqlite, make_engine, migrate, open_engine, write_transaction
from app.private_files import create_private, private_dir
from app.services.archive_limits import ArchiveTooLarge, RestoreLimits, bounded_lines, check_members
from app.services.keys import ENCRYPTED_COLUMNS, KeyRing
from app.services.storage import LocalStorage
from app.settings import Settings
from app.version import VERSION

FORMAT = "sohbet-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
DUMP_BATCH = 1000  # rows read per query while dumping
INSERT_BATCH = 200  # rows per INSERT while restoring
SAMPLE = 25  # encrypted values checked against the configured keys: the first and the last SAMPLE of each column
COPY_CHUNK = 1024 * 1024

# Tables left out of backups, with the reason (anything else in app.models.ALL_TABLES is kept).
SKIPPED_TABLES: dict[str, str] = {
    "admin_session": "logged-in admin browsers: admins log in again",
    "login_attempt": "pending logins, valid for minutes",
    "key_value": "rate-limit counters (the Litestar store)",
    "counter": "rate-limit windows and failed-login counts, minutes to hours long",
    "presence": "who is online now, rebuilt by live servers",
    "lease": "which server process runs a singleton job now (Telegram polling); expires by itself",
}

# Column classes by how their values travel in JSON.
_KINDS: dict[str, tuple[str, ...]] = {
    "int": ("Serial", "BigSerial", "Integer", "BigInt", "SmallInt"),
    "float": ("DoublePrecision", "Real", "Float"),
    "bool": ("Boolean",),
    "text": ("Varchar", "Text", "Secret", "Email"),
    "timestamptz": ("Timestamptz",),
    "timestamp": ("Timestamp",),
    "bytes": ("Bytea", "Blob"),
}

Report = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup or restore refused or failed; the message is one line, safe to show (no message content)."""


# -- schema ------------------------------------------------------------------------------------------------


def backup_tables() -> list[type[Table]]:
    """The tables a backup holds, parents before the tables that reference them."""
    wanted = [table for table in ALL_TABLES if table._meta.tablename not in SKIPPED_TABLES]
    ordered: list[type[Table]] = []
    remaining = list(wanted)
    while remaining:
        for table in remaining:
            parents = {fk._foreign_key_meta.resolved_references for fk in table._meta.foreign_key_columns}
            if all(parent in ordered or parent is table or parent not in wanted for parent in parents):
                ordered.append(table)
                remaining.remove(table)
                break
        else:  # pragma: no cover - a cycle of foreign keys: the schema would need a deferred constraint
            raise BackupError("the tables reference each other in a cycle; backups cannot order them")
    return ordered


def column_kind(column: Column) -> str:
    """How a column's values are written in JSON: int, float, bool, text, timestamptz, timestamp or bytes."""
    if isinstance(column, ForeignKey):
        return column_kind(column._foreign_key_meta.resolved_target_column)
    type_name = type(column).__name__
    for kind, names in _KINDS.items():
        if type_name in names:
            return kind
    raise BackupError(
        f"column {column._meta.table._meta.tablename}.{column._meta.name} has type {type_name}, "
        "which backups do not handle (add it to app/services/backup.py)"
    )


def to_json(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "text":
        return str(value)
    if kind in ("timestamptz", "timestamp"):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if kind == "timestamptz" and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.isoformat()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    raise ValueError(f"unknown kind {kind}")


def from_json(kind: str, value: Any, column: Column) -> Any:
    """The Python value for `column`; ValueError (saying what is wrong, never the value) when it does not fit."""
    if value is None:
        if not column._meta.null:
            raise ValueError("is null, but the column is NOT NULL")
        return None
    if kind == "int":
        if type(value) is not int:
            raise ValueError("is not an integer")
        return value
    if kind == "float":
        if type(value) not in (int, float):
            raise ValueError("is not a number")
        return float(value)
    if kind == "bool":
        if type(value) is not bool:
            raise ValueError("is not a boolean")
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("is not a string")
        if isinstance(column, Varchar) and column.length is not None and len(value) > column.length:
            raise ValueError(f"is longer than {column.length} characters")
        return value
    if kind in ("timestamptz", "timestamp"):
        if not isinstance(value, str):
            raise ValueError("is not an ISO 8601 timestamp")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("is not an ISO 8601 timestamp") from None
        if kind == "timestamptz" and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment
    if kind == "bytes":
        if not isinstance(value, str):
            raise ValueError("is not base64 text")
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            raise ValueError("is not valid base64") from None
    raise ValueError(f"has an unknown kind {kind}")


def _member_name(table: type[Table]) -> str:
    return f"tables/{table._meta.tablename}.jsonl"


def _source_name(engine: Engine) -> str:
    return "sqlite" if is_sqlite(engine) else "postgresql"


# -- backup ------------------------------------------------------------------------------------------------


@dataclass
class BackupSummary:
    path: Path
    size: int
    rows: dict[str, int]
    files: int
    missing_files: list[str]


async def create_backup(
    settings: Settings, path: Path, *, force: bool = False, report: Report = print, warn: Report = print
) -> BackupSummary:
    """Write a backup of the database named by `settings` (and its local attachment files) to `path`."""
    path = Path(path)
    if path.is_dir():
        raise BackupError(f"{path} is a directory; give the backup file's name")
    if path.exists() and not force:
        raise BackupError(f"{path} already exists (use --force to replace it)")
    if not path.parent.is_dir():
        raise BackupError(f"directory {path.parent} does not exist")
    if settings.database_url.startswith("sqlite:///") and not settings.sqlite_path.is_file():
        raise BackupError(f"the database file {settings.sqlite_path} does not exist (check DATABASE_URL)")
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.part"
    engine = make_engine(settings.database_url)
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    try:
        with create_private(temporary) as handle:  # the backup holds every message: 0600 from the start
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                manifest = await _write_archive(engine, settings, archive, report, warn)
                archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        _publish(temporary, path, force=force)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        await close_engine(engine)
    rows = {table["name"]: table["rows"] for table in manifest["tables"]}
    return BackupSummary(path, path.stat().st_size, rows, len(manifest["files"]), manifest["missing_files"])


def _publish(temporary: Path, path: Path, *, force: bool) -> None:
    """Move the finished backup into place: atomically, and without replacing a file unless `force`."""
    if force:
        os.replace(temporary, path)
    else:
        try:
            os.link(temporary, path)  # fails if `path` appeared meanwhile: never replaces it
        except FileExistsError:
            raise BackupError(f"{path} already exists (use --force to replace it)") from None
        except OSError:  # a file system without hard links
            if path.exists():
                raise BackupError(f"{path} already exists (use --force to replace it)") from None
            os.replace(temporary, path)
        temporary.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # make the rename durable
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


async def _write_archive(
    engine: Engine, settings: Settings, archive: zipfile.ZipFile, report: Report, warn: Report
) -> dict[str, Any]:
    from piccolo.apps.migrations.tables import Migration

    local_keys: list[str] = []
    entries: list[dict[str, Any]] = []
    async with engine.transaction():
        if not is_sqlite(engine):  # one snapshot for every table, and no lock that would stop a writer
            await Migration.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            latest = await Migration.select(Migration.name).order_by(Migration.id, ascending=False).first()
        except Exception as exc:  # no migration table: not a Sohbet database, or never migrated
            raise BackupError(
                f"the database has no Sohbet tables (run `sohbet migrate`?): {type(exc).__name__}"
            ) from exc
        for table in backup_tables():
            entry = await _dump_table(archive, table, local_keys)
            entries.append(entry)
            report(f"backup: {entry['name']}: {entry['rows']} rows")
    files, missing = await asyncio.to_thread(_add_files, archive, LocalStorage(settings.upload_dir), local_keys)
    for key in missing:
        warn(f"backup: warning: the file of attachment {key} is gone from UPLOAD_DIR; its row is kept without it")
    report(f"backup: {len(files)} attachment files")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "source": _source_name(engine),
        "schema_migration": latest["name"] if latest else None,
        "encryption": {
            "key_fingerprints": KeyRing(settings.encryption_keys).fingerprints,
            "columns": [f"{table._meta.tablename}.{name}" for table, name in ENCRYPTED_COLUMNS],
        },
        "tables": entries,
        "files": files,
        "missing_files": missing,
        "skipped_tables": sorted(SKIPPED_TABLES),
    }


async def _dump_table(archive: zipfile.ZipFile, table: type[Table], local_keys: list[str]) -> dict[str, Any]:
    columns = table._meta.columns
    kinds = [(column._meta.name, column_kind(column)) for column in columns]
    pk = table._meta.primary_key
    member = _member_name(table)
    digest = hashlib.sha256()
    count = 0
    last: Any = None
    with archive.open(member, "w", force_zip64=True) as out:
        while True:
            query = table.select(*columns).order_by(pk).limit(DUMP_BATCH)
            if last is not None:
                query = query.where(pk > last)
            rows = await query
            if not rows:
                break
            last = rows[-1][pk._meta.name]
            for row in rows:
                values = {name: to_json(kind, row[name]) for name, kind in kinds}
                line = (json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
                digest.update(line)
                out.write(line)
                count += 1
                if table is Attachment and values["backend"] == "local":
                    local_keys.append(values["storage_key"])
    return {
        "name": table._meta.tablename,
        "member": member,
        "rows": count,
        "sha256": digest.hexdigest(),
        "columns": [
            {"name": column._meta.name, "type": type(column).__name__, "kind": kind}
            for column, (_, kind) in zip(columns, kinds, strict=True)
        ],
    }


def _add_files(
    archive: zipfile.ZipFile, storage: LocalStorage, keys: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Copy each local attachment file into the archive; returns the `files` entries and the keys not found."""
    files: list[dict[str, Any]] = []
    missing: list[str] = []
    for key in dict.fromkeys(keys):
        try:
            source = open(storage.path(key), "rb")
        except (FileNotFoundError, ValueError):
            missing.append(key)
            continue
        member = f"files/{key}"
        info = zipfile.ZipInfo(member, date_time=datetime.now(UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED  # images and audio are compressed already
        digest, size = hashlib.sha256(), 0
        with source, archive.open(info, "w", force_zip64=True) as out:
            while chunk := source.read(COPY_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        files.append({"key": key, "member": member, "size": size, "sha256": digest.hexdigest()})
    return files, missing


# -- validation --------------------------------------------------------------------------------------------


@dataclass
class TablePlan:
    table: type[Table]
    member: str
    rows: int
    columns: list[tuple[str, str, Column]]  # (name, kind, column of the current schema)


@dataclass
class RestorePlan:
    path: Path
    manifest: dict[str, Any]
    tables: list[TablePlan]  # in the current schema's dependency order
    files: list[dict[str, Any]]
    local_keys: set[str] = field(default_factory=set)
    stored_files: set[tuple[str, str]] = field(default_factory=set)  # (backend, storage_key) of every attachment
    missing_files: list[str] = field(default_factory=list)
    limits: RestoreLimits = field(default_factory=RestoreLimits)


def _open_archive(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise BackupError(f"{path}: no such file")
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise BackupError(
            f"{path} is not a Sohbet backup: not a readable zip archive (truncated, or another kind of file: {exc})"
        ) from None
    except OSError as exc:
        raise BackupError(f"{path} cannot be read: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _reading(member: str) -> Iterator[None]:
    """Turn the zip module's errors about a damaged member into one clear BackupError."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BackupError(f"member {member} is corrupt ({exc})") from None
    except OSError as exc:
        raise BackupError(f"member {member} cannot be read ({exc})") from None


def _read_manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    names = archive.namelist()
    if MANIFEST not in names:
        raise BackupError(f"{path} is not a Sohbet backup: it has no {MANIFEST}")
    if archive.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
        raise BackupError(f"{MANIFEST} is implausibly large")
    with _reading(MANIFEST):
        raw = archive.read(MANIFEST)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{MANIFEST} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Sohbet backup ({MANIFEST} does not say format {FORMAT!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BackupError(
            f"backup format version {version!r} is not supported (Sohbet {VERSION} reads version {FORMAT_VERSION})"
        )
    for name, kind in (("tables", list), ("files", list), ("missing_files", list), ("encryption", dict)):
        if not isinstance(manifest.get(name), kind):
            raise BackupError(f"{MANIFEST} is malformed: '{name}' is missing or not a {kind.__name__}")
    return manifest


def _plan_tables(manifest: dict[str, Any]) -> list[TablePlan]:
    current = {table._meta.tablename: table for table in backup_tables()}
    listed: dict[str, TablePlan] = {}
    for entry in manifest["tables"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BackupError(f"{MANIFEST} is malformed: a table entry has no name")
        name = entry["name"]
        table = current.get(name)
        if table is None:
            raise BackupError(f"table {name!r} is not part of this Sohbet's schema (a backup from a newer version?)")
        if name in listed:
            raise BackupError(f"{MANIFEST} is malformed: table {name} is listed twice")
        if entry.get("member") != _member_name(table):
            raise BackupError(f"{MANIFEST} is malformed: table {name} names member {entry.get('member')!r}")
        rows, digest, columns = entry.get("rows"), entry.get("sha256"), entry.get("columns")
        if type(rows) is not int or rows < 0 or not isinstance(digest, str) or not isinstance(columns, list):
            raise BackupError(f"{MANIFEST} is malformed: table {name} lacks rows, sha256 or columns")
        planned: list[tuple[str, str, Column]] = []
        seen: set[str] = set()
        for spec in columns:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise BackupError(f"{MANIFEST} is malformed: a column of table {name} has no name")
            column_name = spec["name"]
            column = table._meta.get_column_by_name(column_name) if column_name in _column_names(table) else None
            if column is None:
                raise BackupError(
                    f"column {name}.{column_name} does not exist in this Sohbet's schema (a backup from a newer "
                    "version?)"
                )
            kind = column_kind(column)
            if spec.get("kind") != kind:
                raise BackupError(f"column {name}.{column_name} holds {spec.get('kind')!r} values, expected {kind}")
            if column_name in seen:
                raise BackupError(f"{MANIFEST} is malformed: column {name}.{column_name} is listed twice")
            seen.add(column_name)
            planned.append((column_name, kind, column))
        pk_name = table._meta.primary_key._meta.name
        if pk_name not in seen:
            raise BackupError(f"{MANIFEST} is malformed: table {name} has no {pk_name} column")
        listed[name] = TablePlan(table, entry["member"], rows, planned)
    return [listed[name] for name in current if name in listed]


def _column_names(table: type[Table]) -> set[str]:
    return {column._meta.name for column in table._meta.columns}


def validate_backup(
    path: Path, settings: Settings, *, report: Report = print, limits: RestoreLimits | None = None
) -> RestorePlan:
    """Check everything in the archive at `path` without writing anything; BackupError on the first problem."""
    path = Path(path)
    ring = KeyRing(settings.encryption_keys)
    limits = limits or RestoreLimits()
    with _open_archive(path) as archive:
        try:
            check_members(archive, limits, settings.upload_dir)
        except ArchiveTooLarge as exc:
            raise BackupError(str(exc)) from None
        manifest = _read_manifest(archive, path)
        tables = _plan_tables(manifest)
        checksums = {entry["name"]: entry["sha256"] for entry in manifest["tables"]}
        plan = RestorePlan(path, manifest, tables, files=[], missing_files=[], limits=limits)
        plan.missing_files = [key for key in manifest["missing_files"] if isinstance(key, str)]
        expected_members = {MANIFEST} | {table.member for table in tables}
        storage = LocalStorage(settings.upload_dir)
        for entry in manifest["files"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                raise BackupError(f"{MANIFEST} is malformed: a files entry has no key")
            key = entry["key"]
            try:
                storage.path(key)
            except ValueError:
                raise BackupError(f"{MANIFEST} is malformed: {key!r} is not a valid storage key") from None
            if entry.get("member") != f"files/{key}" or type(entry.get("size")) is not int:
                raise BackupError(f"{MANIFEST} is malformed: the files entry of {key} is incomplete")
            if entry["member"] in expected_members:
                raise BackupError(f"{MANIFEST} is malformed: file {key} is listed twice")
            expected_members.add(entry["member"])
            plan.files.append(entry)
        names = archive.namelist()
        if len(names) != len(set(names)):
            raise BackupError("the archive holds two members with the same name")
        for name in names:
            if name not in expected_members:
                raise BackupError(f"unexpected member {name} (not listed in {MANIFEST})")
        for name in sorted(expected_members - set(names)):
            raise BackupError(f"member {name} is missing from the archive (listed in {MANIFEST})")

        samples: dict[str, deque[tuple[Any, str]]] = {}
        heads: dict[str, list[tuple[Any, str]]] = {}
        encrypted = {(table._meta.tablename, name) for table, name in ENCRYPTED_COLUMNS}
        for table in tables:
            watch = [name for name, _, _ in table.columns if (table.table._meta.tablename, name) in encrypted]
            pk_name = table.table._meta.primary_key._meta.name
            digest, count = hashlib.sha256(), 0
            for raw, row in _rows(archive, table, limits.line_bytes):
                digest.update(raw)
                count += 1
                for name in watch:
                    if row[name]:
                        label = f"{table.table._meta.tablename}.{name}"
                        head = heads.setdefault(label, [])
                        if len(head) < SAMPLE:
                            head.append((row[pk_name], row[name]))
                        else:
                            samples.setdefault(label, deque(maxlen=SAMPLE)).append((row[pk_name], row[name]))
                if table.table is Attachment:
                    plan.stored_files.add((row["backend"], row["storage_key"]))
                    if row["backend"] == "local":
                        plan.local_keys.add(row["storage_key"])
            if digest.hexdigest() != checksums[table.table._meta.tablename]:
                raise BackupError(f"member {table.member} is corrupt (its SHA-256 does not match {MANIFEST})")
            if count != table.rows:
                raise BackupError(f"member {table.member} holds {count} rows, {MANIFEST} says {table.rows}")
            report(f"restore: checked {table.table._meta.tablename}: {count} rows")

        for entry in plan.files:
            digest, size = hashlib.sha256(), 0
            with _reading(entry["member"]), archive.open(entry["member"]) as source:
                while chunk := source.read(COPY_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            if digest.hexdigest() != entry.get("sha256") or size != entry["size"]:
                raise BackupError(f"member {entry['member']} is corrupt (its SHA-256 does not match {MANIFEST})")
        in_archive = {entry["key"] for entry in plan.files}
        for key in sorted(plan.local_keys - in_archive):
            if key not in plan.missing_files:
                raise BackupError(f"the file of attachment {key} is neither in the archive nor listed as missing")
        report(f"restore: checked {len(plan.files)} attachment files")

    for label in sorted(set(heads) | set(samples)):
        for row_id, token in [*heads.get(label, []), *samples.get(label, [])]:
            if not ring.readable(token):
                made_with = manifest["encryption"].get("key_fingerprints") or ["unknown"]
                raise BackupError(
                    f"no configured ENCRYPTION_KEYS entry decrypts {label} of row id={row_id} "
                    f"(backup made with key fingerprints {', '.join(map(str, made_with))}; configured: "
                    f"{', '.join(ring.fingerprints)}): configure the keys the backup was made with"
                )
    return plan


def _rows(archive: zipfile.ZipFile, table: TablePlan, line_bytes: int) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(raw line, Python values) for each row of a table member, checked against the schema."""
    expected = {name for name, _, _ in table.columns}
    with _reading(table.member), archive.open(table.member) as handle:
        for number, raw in enumerate(_lines(handle, line_bytes, table.member), start=1):
            where = f"{table.member} line {number}"
            if not raw.endswith(b"\n") or not raw.strip():
                raise BackupError(f"{where}: an empty or unterminated line")
            try:
                data = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise BackupError(f"{where}: not valid JSON") from None
            if not isinstance(data, dict):
                raise BackupError(f"{where}: not a JSON object")
            if set(data) != expected:
                extra, lacking = sorted(set(data) - expected), sorted(expected - set(data))
                raise BackupError(f"{where}: columns do not match {MANIFEST} (extra: {extra}, missing: {lacking})")
            values: dict[str, Any] = {}
            for name, kind, column in table.columns:
                try:
                    values[name] = from_json(kind, data[name], column)
                except ValueError as exc:
                    raise BackupError(f"{where}: column {name} {exc}") from None
            yield raw, values


def _lines(handle: Any, line_bytes: int, member: str) -> Iterator[bytes]:
    try:
        yield from bounded_lines(handle, line_bytes, member)
    except ArchiveTooLarge as exc:
        raise BackupError(str(exc)) from None


# -- restore -----------------------------------------------------------------------------------------------


@dataclass
class RestoreSummary:
    rows: dict[str, int]
    files: int
    missing_files: list[str]
    replaced: bool
    manifest: dict[str, Any]


async def restore_backup(
    settings: Settings, path: Path, *, force: bool = False, report: Report = print, warn: Report = print
) -> RestoreSummary:
    """Validate `path`, then load it into the database named by `settings` (see the module docstring)."""
    plan = validate_backup(Path(path), settings, report=report)
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints its own migration chatter
        await migrate(settings.database_url)
    report("restore: migrations applied")
    engine = make_engine(settings.database_url)
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    try:
        held = await _held_rows()
        if held and not force:
            raise BackupError(f"the target database is not empty ({_describe(held)}); use --force to replace its data")
        storage = LocalStorage(settings.upload_dir)
        created = await asyncio.to_thread(_write_files, plan, storage)
        try:
            rows = await _load(engine, plan, force=force, report=report)
        except BaseException:
            await asyncio.to_thread(_remove, created)
            raise
    finally:
        await close_engine(engine)
    for key in plan.missing_files:
        warn(f"restore: warning: attachment {key} had no file in the backup")
    return RestoreSummary(rows, len(plan.files), plan.missing_files, bool(held), plan.manifest)


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {count} rows" for name, count in counts.items())


async def _held_rows() -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in backup_tables():
        count = await table.count()
        if count:
            counts[table._meta.tablename] = count
    return counts


def _write_files(plan: RestorePlan, storage: LocalStorage) -> list[Path]:
    """Copy the archive's files into UPLOAD_DIR; returns those it created (a file already there with the same
    bytes is left alone and not returned). Removes what it wrote if it fails."""
    if not plan.files:
        return []
    with _open_archive(plan.path) as archive:
        for entry in plan.files:  # refuse before writing anything
            target = storage.path(entry["key"])
            if target.exists() and _sha256_file(target) != entry["sha256"]:
                raise BackupError(f"UPLOAD_DIR already holds a different file named {entry['key']}")
        private_dir(storage.root)
        created: list[Path] = []
        try:
            for entry in plan.files:
                target = storage.path(entry["key"])
                if target.exists():
                    continue
                temporary = storage.root / f".{entry['key']}.restore.part"
                temporary.unlink(missing_ok=True)  # left by a restore killed outright
                try:
                    digest = hashlib.sha256()
                    with _reading(entry["member"]), archive.open(entry["member"]) as source:
                        with create_private(temporary) as out:
                            while chunk := source.read(COPY_CHUNK):
                                digest.update(chunk)
                                out.write(chunk)
                            out.flush()
                            os.fsync(out.fileno())
                    if digest.hexdigest() != entry["sha256"]:
                        raise BackupError(f"member {entry['member']} changed while restoring")
                    os.replace(temporary, target)
                    created.append(target)
                finally:
                    temporary.unlink(missing_ok=True)
        except BaseException:
            _remove(created)
            raise
    return created


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


async def _load(engine: Engine, plan: RestorePlan, *, force: bool, report: Report) -> dict[str, int]:
    """Replace (force) or fill the tables in one write transaction; roll back on any failure."""
    rows: dict[str, int] = {}
    current = backup_tables()
    with _open_archive(plan.path) as archive:
        async with write_transaction(engine):
            replaced: set[tuple[str, str]] = set()
            if await _held_rows():
                if not force:
                    raise BackupError("the target database is not empty; use --force to replace its data")
                found = await Attachment.select(Attachment.backend, Attachment.storage_key)
                replaced = {(row["backend"], row["storage_key"]) for row in found}
                for table in reversed(current):
                    await table.delete(force=True)
            for table in plan.tables:
                rows[table.table._meta.tablename] = await _insert_table(archive, table, plan.limits.line_bytes)
                report(f"restore: {table.table._meta.tablename}: {rows[table.table._meta.tablename]} rows")
            if not is_sqlite(engine):
                for table in current:
                    await _fix_sequence(table)
            # Files of the replaced data that the backup does not bring back: deleted by the servers' usual
            # deletion queue (any backend), after this transaction commits.
            orphans = replaced - plan.stored_files
            if orphans:
                await FileDeletion.insert(
                    *(FileDeletion(backend=backend, storage_key=key, next_try_at=0.0) for backend, key in orphans)
                )
    return rows


async def _insert_table(archive: zipfile.ZipFile, plan: TablePlan, line_bytes: int) -> int:
    table = plan.table
    batch: list[Table] = []
    count = 0
    try:
        for _, values in _rows(archive, plan, line_bytes):
            batch.append(table(**values))
            if len(batch) >= INSERT_BATCH:
                await table.insert(*batch)
                count += len(batch)
                batch = []
        if batch:
            await table.insert(*batch)
            count += len(batch)
    except BackupError:
        raise
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        raise BackupError(
            f"restoring table {table._meta.tablename} failed, nothing was restored: {type(exc).__name__}: {detail}"
        ) from exc
    return count


async def _fix_sequence(table: type[Table]) -> None:
    """PostgreSQL: move the id sequence past the largest restored id, so new rows do not collide."""
    pk = table._meta.primary_key
    if type(pk).__name__ not in ("Serial", "BigSerial"):
        return
    name, column = table._meta.tablename, pk._meta.db_column_name
    await table.raw(
        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', '{column}'), "
        f'COALESCE((SELECT MAX("{column}") FROM "{name}"), 0) + 1, false)'
    )
