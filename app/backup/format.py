"""The backup archive format, in one place: what the archive holds, the manifest, which tables are kept, and
how each column's values travel in JSON (both ways).

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
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from piccolo.columns import Column, ForeignKey, Varchar
from piccolo.table import Table

from app.models import ALL_TABLES

FORMAT = "sohbet-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
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
        "which backups do not handle (add it to app/backup/format.py)"
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


def member_name(table: type[Table]) -> str:
    return f"tables/{table._meta.tablename}.jsonl"
