"""Canned replies (SPEC §10): `canned_reply`, support's own templates, one per `shortcut` (unique: the app has one
workspace), stored as plain text (written by agents, not visitors; nothing to encrypt)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import DoublePrecision, Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "canned replies"


def _params(**overrides):
    params = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)
    manager.add_table(class_name="CannedReply", tablename="canned_reply", schema=None, columns=None)
    columns = (
        ("shortcut", "Varchar", Varchar, _params(length=30, default="", unique=True, index=True)),
        ("text", "Text", Text, _params(default="")),
        ("created_by", "Varchar", Varchar, _params(length=40, default="")),
        ("updated_at", "DoublePrecision", DoublePrecision, _params(default=0.0)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="CannedReply",
            tablename="canned_reply",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
