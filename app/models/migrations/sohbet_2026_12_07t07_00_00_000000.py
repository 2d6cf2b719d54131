"""Conversation status and assignment (SPEC §8): `status` (open | snoozed | resolved), `snoozed_until` (epoch
seconds) and `assignee` (an agent's username). Existing conversations become open and unassigned."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import DoublePrecision, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversation status and assignee"


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
    columns = (
        ("status", "Varchar", Varchar, _params(length=10, default="open", index=True)),
        ("snoozed_until", "DoublePrecision", DoublePrecision, _params(default=None, null=True)),
        ("assignee", "Varchar", Varchar, _params(length=40, default=None, null=True, index=True)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="Conversation",
            tablename="conversation",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
