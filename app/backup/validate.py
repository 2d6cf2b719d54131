"""The check `sohbet restore` runs before writing anything: the whole archive, read once.

Restore validates the whole archive first (the members' stated sizes against `limits.RestoreLimits` —
compression ratio, total size, free space —, manifest, every checksum, every JSON line against the current schema
and the line-length limit, a sample of encrypted values against the configured keys) and writes nothing if anything
is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piccolo.columns import Column
from piccolo.table import Table

from app.backup.format import (
    COPY_CHUNK,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    BackupError,
    Report,
    backup_tables,
    column_kind,
    from_json,
    member_name,
)
from app.backup.limits import ArchiveTooLarge, RestoreLimits, bounded_lines, check_members
from app.models import Attachment
from app.services.keys import ENCRYPTED_COLUMNS, KeyRing
from app.services.storage import LocalStorage
from app.settings import Settings
from app.version import VERSION

SAMPLE = 25  # encrypted values checked against the configured keys: the first and the last SAMPLE of each column


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


def open_archive(path: Path) -> zipfile.ZipFile:
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
def reading(member: str) -> Iterator[None]:
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
    with reading(MANIFEST):
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
        if entry.get("member") != member_name(table):
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
    with open_archive(path) as archive:
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
            for raw, row in read_rows(archive, table, limits.line_bytes):
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
            with reading(entry["member"]), archive.open(entry["member"]) as source:
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


def read_rows(archive: zipfile.ZipFile, table: TablePlan, line_bytes: int) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(raw line, Python values) for each row of a table member, checked against the schema."""
    expected = {name for name, _, _ in table.columns}
    with reading(table.member), archive.open(table.member) as handle:
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
