"""TOTP second factor (SPEC §8): `agent.totp_secret` (a Fernet token under ENCRYPTION_KEYS, "" when none),
`agent.totp_enabled` and `agent.totp_last_step` (the last accepted 30 s step: each code is accepted once)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Boolean, Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agent TOTP"


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
        ("totp_secret", "Text", Text, _params(default="")),
        ("totp_enabled", "Boolean", Boolean, _params(default=False)),
        ("totp_last_step", "BigInt", BigInt, _params(default=0)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="Agent",
            tablename="agent",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
