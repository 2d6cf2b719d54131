"""`sohbet cleanup`: one round of housekeeping, for cron: retention (`Retention.enforce`), expired sessions and
login attempts (`AuthService.purge_expired`), expired rate-limit keys (`DatabaseStore.purge_expired`), old
Telegram bookkeeping, the file-deletion queue (`AttachmentService.delete_pending`) and orphan files in
UPLOAD_DIR. A dry run performs the same database work inside one transaction that is then rolled back, and
touches no file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clock import now
from app.models import AdminSession, Attachment, FileDeletion, KeyValue, LoginAttempt
from app.models.db import write_transaction
from app.services import counters
from app.services.store import DatabaseStore
from app.services.telegram import pruning as telegram_pruning
from app.settings import Settings
from app.wiring import Services, open_services

TELEGRAM_KEEP_SECONDS = 30 * 86400  # telegram_update and delivered telegram_outbox rows (telegram/pruning.py)
ORPHAN_MIN_AGE_SECONDS = 3600  # a file younger than this may be an upload in progress: never touched
# LocalStorage names every file `<secrets.token_urlsafe(24)>.<extension>`: nothing else in UPLOAD_DIR is ours.
STORAGE_KEY_RE = re.compile(r"[A-Za-z0-9_-]{32}\.[a-z0-9]{1,8}")

CLEANUP_KINDS: dict[str, str] = {
    "messages": "messages older than MESSAGE_RETENTION",
    "conversations": "conversations idle longer than MESSAGE_RETENTION",
    "unsent_uploads": "API uploads never sent, older than a day",
    "admin_sessions": "expired admin sessions",
    "login_attempts": "login attempts past the failure window",
    "rate_limit_keys": "expired rate-limit keys",
    "telegram_updates": "Telegram updates older than 30 days (the newest is kept)",
    "telegram_outbox": "delivered Telegram outbox rows older than 30 days",
    "queued_files": "files from the deletion queue",
    "orphan_files": "files in UPLOAD_DIR with no attachment, older than an hour",
}


class CleanupError(RuntimeError):
    """The cleanup could not run (no database); the message says why."""


@dataclass
class CleanupReport:
    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLEANUP_KINDS, 0))
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _Rollback(Exception):
    """Ends a dry run's transaction."""


async def _database_steps(engine: Any, services: Services, report: CleanupReport, moment: float) -> None:
    for kind, count in (await services.retention.enforce()).items():
        report.counts[kind] = count
    async with write_transaction(engine):  # counted around the purge, which decides what "expired" means
        sessions, attempts = await AdminSession.count(), await LoginAttempt.count()
        await services.auth.purge_expired()
        report.counts["admin_sessions"] = max(0, sessions - await AdminSession.count())
        report.counts["login_attempts"] = max(0, attempts - await LoginAttempt.count())
    async with write_transaction(engine):
        keys = await KeyValue.count()
        await DatabaseStore().purge_expired()
        report.counts["rate_limit_keys"] = max(0, keys - await KeyValue.count()) + await counters.purge_expired()

    async with write_transaction(engine):
        report.counts.update(await telegram_pruning.prune(moment - TELEGRAM_KEEP_SECONDS))


def _old_files(upload_dir: Path, moment: float) -> list[Path]:
    """Files in UPLOAD_DIR named like a stored attachment and unchanged for an hour."""
    if not upload_dir.is_dir():
        return []
    found = []
    with os.scandir(upload_dir) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not STORAGE_KEY_RE.fullmatch(entry.name):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < moment - ORPHAN_MIN_AGE_SECONDS:
                    found.append(Path(entry.path))
    return found


async def _orphans(settings: Settings, moment: float) -> list[Path]:
    """Old local files no attachment row (nor the deletion queue) refers to."""
    candidates = await asyncio.to_thread(_old_files, settings.upload_dir, moment)
    if not candidates:
        return []
    attached = await Attachment.select(Attachment.storage_key).where(Attachment.backend == "local")
    queued = await FileDeletion.select(FileDeletion.storage_key).where(FileDeletion.backend == "local")
    known = {row["storage_key"] for row in (*attached, *queued)}
    return [path for path in candidates if path.name not in known]


async def cleanup(settings: Settings, *, dry_run: bool = False) -> CleanupReport:
    """One round of housekeeping (see the module docstring). A dry run counts what would go and changes
    nothing: the database work runs in a transaction that is rolled back, and no file is touched."""
    if not settings.is_postgres and not settings.sqlite_path.is_file():
        raise CleanupError(f"the database file {settings.sqlite_path} does not exist (check DATABASE_URL)")
    report = CleanupReport(dry_run=dry_run)
    if not settings.message_retention_seconds:
        report.notes.append("MESSAGE_RETENTION is 0: messages and conversations are kept")
    # The app's own services, the database open and no background loop: retention tells the servers about the
    # conversations it clears through the broker, as their own retention does; the files go in the steps below.
    async with open_services(settings, workers=False) as services:
        engine, storage = services.engine, services.attachments.storage
        moment = now()
        if dry_run:
            with contextlib.suppress(_Rollback):
                async with write_transaction(engine):
                    await _database_steps(engine, services, report, moment)
                    due = (FileDeletion.next_try_at <= now()) & (FileDeletion.backend == storage.backend)
                    report.counts["queued_files"] = await FileDeletion.count().where(due)
                    report.counts["orphan_files"] = len(await _orphans(settings, moment))
                    raise _Rollback
            return report
        await _database_steps(engine, services, report, moment)
        while True:  # each call takes up to 200 due rows; a failed one is rescheduled, so this ends
            done = await services.attachments.delete_pending()
            report.counts["queued_files"] += done
            if done < 200:
                break
        left = await FileDeletion.count()
        if left:
            report.notes.append(f"{left} file deletion(s) still queued (retried later, or another storage backend's)")
        for path in await _orphans(settings, moment):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                report.failures.append(f"{path}: {exc.strerror or type(exc).__name__}")
                continue
            report.counts["orphan_files"] += 1
        return report
