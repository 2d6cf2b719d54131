"""Encryption-key rotation (`sohbet rotate-keys`): re-encrypt every stored Fernet token under the FIRST key of
ENCRYPTION_KEYS, so that an older key can then be dropped from the list.

How an operator rotates: put the new key first (`ENCRYPTION_KEYS=NEW,OLD`), restart the servers (they now write
with NEW and still read OLD), run `sohbet rotate-keys`, then remove OLD from the list and restart again.

The job is safe while servers run and can be interrupted at any point:

* every encrypted column (`ENCRYPTED_COLUMNS`) is read in primary-key order, `batch_size` rows at a time;
  the tokens are re-encrypted outside any transaction (`MultiFernet.rotate`, which keeps each token's timestamp),
  then written back in one short write transaction per batch (IMMEDIATE on SQLite);
* a row is only updated where its value still equals the token that was read, so a value a server changed in the
  meantime is never overwritten with an older one (such rows are read again and retried at the end);
* a value that already decrypts with the first key is left alone, so a re-run after an interruption only does
  what is left (it is idempotent; no progress needs to be kept);
* a value that no configured key decrypts is reported by table, column and row id (never its content), and every
  other value is still rotated.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from piccolo.columns import Column
from piccolo.engine.base import Engine
from piccolo.table import Table

from app.models import Agent, Conversation, MailOutbox, Message, Rating, VisitorAddress
from app.models.db import bind_tables, close_engine, make_engine, open_engine, write_transaction
from app.settings import Settings

# Every column that holds a Fernet token (written with Cipher.encrypt in app/services/conversations.py, the
# agents' TOTP secrets in app/services/agents.py, the visitor's email and the mail outbox in app/services/mail/).
ENCRYPTED_COLUMNS: tuple[tuple[type[Table], str], ...] = (
    (Conversation, "last_preview"),
    (Conversation, "email"),
    (MailOutbox, "recipient"),
    (MailOutbox, "body"),
    (Message, "body"),
    (Agent, "totp_secret"),
    (Rating, "comment"),  # the visitor's comment on a rating (app/services/ratings.py)
    (VisitorAddress, "ip"),
)
CONFLICT_ROUNDS = 5  # how often a row changed by a server meanwhile is read again and retried

Report = Callable[[str], None]


class RotationError(RuntimeError):
    """The rotation cannot start (no database there); the message is one line."""


def key_fingerprint(key: str) -> str:
    """A short, non-secret identifier of a Fernet key (recorded in backups, shown in messages)."""
    return hashlib.sha256(b"sohbet-key-fingerprint:" + key.strip().encode()).hexdigest()[:16]


class KeyRing:
    """The configured keys: the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self.fingerprints = [key_fingerprint(key) for key in keys]
        self._first = Fernet(keys[0].encode())
        self._all = MultiFernet([Fernet(key.encode()) for key in keys])

    def under_first_key(self, token: str) -> bool:
        try:
            self._first.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def readable(self, token: str) -> bool:
        """True when some configured key decrypts `token` (an empty value counts as readable)."""
        if not token:
            return True
        try:
            self._all.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """`token` re-encrypted under the first key; InvalidToken when no configured key decrypts it."""
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except UnicodeEncodeError as exc:
            raise InvalidToken from exc


@dataclass
class RotationResult:
    checked: int = 0
    rotated: int = 0
    already: int = 0  # already under the first key (or empty)
    unreadable: list[tuple[str, int]] = field(default_factory=list)  # (table.column, row id)
    conflicts: list[tuple[str, int]] = field(default_factory=list)  # still changing after every retry

    @property
    def ok(self) -> bool:
        return not self.unreadable and not self.conflicts


async def rotate_keys(
    settings: Settings,
    *,
    batch_size: int = 500,
    pause: float = 0.0,
    report: Report = print,
    warn: Report = print,
) -> RotationResult:
    """Re-encrypt every encrypted value under the first configured key (see the module docstring)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if settings.database_url.startswith("sqlite:///") and not settings.sqlite_path.is_file():
        raise RotationError(f"the database file {settings.sqlite_path} does not exist (check DATABASE_URL)")
    ring = KeyRing(settings.encryption_keys)
    result = RotationResult()
    engine = make_engine(settings.database_url)
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    try:
        try:
            await Message.count()
        except Exception as exc:  # no such table: not a Sohbet database, or never migrated
            raise RotationError(
                f"the database has no Sohbet tables (run `sohbet migrate`?): {type(exc).__name__}"
            ) from exc
        for table, name in ENCRYPTED_COLUMNS:
            rotation = _ColumnRotation(engine, ring, table, name, result, warn)
            await rotation.run(batch_size, pause, report)
    finally:
        await close_engine(engine)
    return result


class _ColumnRotation:
    """Rotates one encrypted column, batch by batch."""

    def __init__(
        self, engine: Engine, ring: KeyRing, table: type[Table], name: str, result: RotationResult, warn: Report
    ) -> None:
        self.engine = engine
        self.ring = ring
        self.table = table
        self.column: Column = table._meta.get_column_by_name(name)
        self.pk: Column = table._meta.primary_key
        self.label = f"{table._meta.tablename}.{name}"
        self.result = result
        self.warn = warn
        self.rotated = 0

    async def run(self, batch_size: int, pause: float, report: Report) -> None:
        total = await self.table.count()
        checked = 0
        last_id: Any = None
        changed: list[Any] = []
        while True:
            query = self.table.select(self.pk, self.column).order_by(self.pk).limit(batch_size)
            if last_id is not None:
                query = query.where(self.pk > last_id)
            rows = await query
            if not rows:
                break
            last_id = rows[-1][self.pk._meta.name]
            changed += await self._rotate_rows(rows, first_look=True)
            checked += len(rows)
            report(
                f"rotate-keys: {self.label}: {checked}/{max(total, checked)} rows checked, {self.rotated} re-encrypted"
            )
            if pause > 0:
                await asyncio.sleep(pause)
        for _ in range(CONFLICT_ROUNDS):
            if not changed:
                break
            rows = await self.table.select(self.pk, self.column).where(self.pk.is_in(changed)).order_by(self.pk)
            changed = await self._rotate_rows(rows, first_look=False)
        self.result.conflicts += [(self.label, row_id) for row_id in changed]
        if checked == 0:
            report(f"rotate-keys: {self.label}: no rows")

    async def _rotate_rows(self, rows: list[dict[str, Any]], *, first_look: bool) -> list[Any]:
        """Rotate what needs it; returns the ids of rows that changed since they were read (to retry)."""
        pk_name, name = self.pk._meta.name, self.column._meta.name
        updates: list[tuple[Any, str, str]] = []
        for row in rows:
            row_id, token = row[pk_name], row[name] or ""
            self.result.checked += int(first_look)
            if not token or self.ring.under_first_key(token):
                self.result.already += int(first_look)
                continue
            try:
                updates.append((row_id, token, self.ring.rotate(token)))
            except InvalidToken:
                self.result.unreadable.append((self.label, row_id))
                self.warn(f"rotate-keys: {self.label} row id={row_id}: no configured key decrypts this value")
        if not updates:
            return []
        changed: list[Any] = []
        async with write_transaction(self.engine):
            for row_id, old, new in updates:
                done = await (
                    self.table.update({self.column: new})
                    .where((self.pk == row_id) & (self.column == old))
                    .returning(self.pk)
                )
                if done:
                    self.rotated += 1
                    self.result.rotated += 1
                elif await self.table.exists().where(self.pk == row_id):
                    changed.append(row_id)  # a server wrote a new value meanwhile: read it again later
        return changed
