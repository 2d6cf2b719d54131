"""`sohbet backup FILE`: write the archive (see `format.py`).

The backup reads one consistent snapshot (a REPEATABLE READ, READ ONLY transaction on PostgreSQL; one read
transaction under WAL on SQLite), so it can run while servers do. It is written to a temporary file next to FILE,
synced, then renamed into place: a failed or interrupted backup never leaves a half-written FILE.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.table import Table

from app.backup.format import (
    COPY_CHUNK,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SKIPPED_TABLES,
    BackupError,
    Report,
    backup_tables,
    column_kind,
    member_name,
    to_json,
)
from app.models import Attachment
from app.models.db import bind_tables, close_engine, is_sqlite, make_engine, open_engine
from app.private_files import create_private
from app.services.keys import ENCRYPTED_COLUMNS, KeyRing
from app.services.storage import LocalStorage
from app.settings import Settings
from app.version import VERSION

DUMP_BATCH = 1000  # rows read per query while dumping


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
            latest = (
                await Migration.select(Migration.name).order_by(Migration._meta.primary_key, ascending=False).first()
            )
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
        "source": "sqlite" if is_sqlite(engine) else "postgresql",
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
    member = member_name(table)
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
