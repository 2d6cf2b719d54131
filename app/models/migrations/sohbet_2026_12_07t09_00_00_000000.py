"""The audit log (SPEC §8): `audit_event`, one row per login, failed login, team change, clear and settings change
(app/services/audit.py), pruned after 180 days by the housekeeping worker."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import DoublePrecision, Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log"


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
    manager.add_table(class_name="AuditEvent", tablename="audit_event", schema=None, columns=None)
    columns = (
        ("created_at", "DoublePrecision", DoublePrecision, _params(default=0.0, index=True)),
        ("actor", "Varchar", Varchar, _params(length=100, default="")),
        ("ip", "Varchar", Varchar, _params(length=64, default="")),
        ("action", "Varchar", Varchar, _params(length=40, default="", index=True)),
        ("target", "Varchar", Varchar, _params(length=100, default="")),
        ("details", "Text", Text, _params(default="{}")),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="AuditEvent",
            tablename="audit_event",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
