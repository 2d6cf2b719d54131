"""`sohbet restore FILE`: load a checked archive (see `validate.py`) into the configured database.

Restore validates the whole archive first and writes nothing if anything is wrong. Then it runs the migrations,
refuses a target that already holds data (unless `force`, which replaces it), copies the files into UPLOAD_DIR
and inserts every row, primary keys kept, in one write transaction; PostgreSQL sequences are moved past the
restored ids. On any failure the transaction rolls back and the files it wrote are removed (a restore killed
outright can leave copied files that no row references; they are harmless and can be deleted). Visitor cookies
are signed with SECRET_KEY: give the target the same SECRET_KEY, or visitors start new conversations.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.table import Table

from app.backup.format import COPY_CHUNK, BackupError, Report, backup_tables
from app.backup.validate import RestorePlan, TablePlan, open_archive, read_rows, reading, validate_backup
from app.models import Agent, Attachment, FileDeletion
from app.models.db import bind_tables, close_engine, is_sqlite, make_engine, migrate, open_engine, write_transaction
from app.private_files import create_private, private_dir
from app.services.auth import ENV_PASSWORD
from app.services.storage import LocalStorage
from app.settings import Settings

INSERT_BATCH = 200  # rows per INSERT while restoring


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
    """What the target holds. The first owner a server made from ADMIN_USERNAME (password never changed) is not
    data: a restore without --force replaces it with the backup's team (or a server makes it again)."""
    counts: dict[str, int] = {}
    for table in backup_tables():
        count = await table.count()
        if table is Agent:
            count = await Agent.count().where(Agent.password_hash != ENV_PASSWORD)
        if count:
            counts[table._meta.tablename] = count
    return counts


def _write_files(plan: RestorePlan, storage: LocalStorage) -> list[Path]:
    """Copy the archive's files into UPLOAD_DIR; returns those it created (a file already there with the same
    bytes is left alone and not returned). Removes what it wrote if it fails."""
    if not plan.files:
        return []
    with open_archive(plan.path) as archive:
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
                    with reading(entry["member"]), archive.open(entry["member"]) as source:
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
    with open_archive(plan.path) as archive:
        async with write_transaction(engine):
            replaced: set[tuple[str, str]] = set()
            if await _held_rows():
                if not force:
                    raise BackupError("the target database is not empty; use --force to replace its data")
                found = await Attachment.select(Attachment.backend, Attachment.storage_key)
                replaced = {(row["backend"], row["storage_key"]) for row in found}
                for table in reversed(current):
                    await table.delete(force=True)
            else:
                await Agent.delete().where(Agent.password_hash == ENV_PASSWORD)
            for planned in plan.tables:
                name = planned.table._meta.tablename
                rows[name] = await _insert_table(archive, planned, plan.limits.line_bytes)
                report(f"restore: {name}: {rows[name]} rows")
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
        for _, values in read_rows(archive, plan, line_bytes):
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
