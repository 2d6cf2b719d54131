"""The `counter` table: counts every server process shares (rate-limit windows, failed password checks)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import DoublePrecision, Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T01:14:32:143200"
VERSION = "1.38.0"
DESCRIPTION = "shared counters"


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
    manager.add_table(class_name="Counter", tablename="counter", schema=None, columns=None)
    columns = (
        ("key", "Varchar", Varchar, _params(length=200, default="", unique=True, index=True)),
        ("count", "Integer", Integer, _params(default=0)),
        ("expires_at", "DoublePrecision", DoublePrecision, _params(default=0.0, index=True)),
        ("blocked_until", "DoublePrecision", DoublePrecision, _params(default=0.0)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="Counter",
            tablename="counter",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
