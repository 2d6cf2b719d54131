"""Teams (SPEC §8): the `agent` table, and `message.author` (the agent who wrote an admin message; NULL for older
rows, visitors and replies from Telegram). The first owner is not written here: it comes from ADMIN_USERNAME /
ADMIN_PASSWORD(_HASH) when the app (or a `sohbet agent` command) starts on a database without one
(app/services/agents.py: ensure_first_owner), so an existing install upgrades and logs in as before with no step
of the operator."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, DoublePrecision, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agents and message authors"


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
    manager.add_table(class_name="Agent", tablename="agent", schema=None, columns=None)
    columns = (
        ("username", "Varchar", Varchar, _params(length=40, default="", unique=True, index=True)),
        ("display_name", "Varchar", Varchar, _params(length=50, default="")),
        ("role", "Varchar", Varchar, _params(length=10, default="agent")),
        ("password_hash", "Varchar", Varchar, _params(length=200, default="")),
        ("disabled", "Boolean", Boolean, _params(default=False)),
        ("invite_hash", "Varchar", Varchar, _params(length=64, default=None, null=True, index=True)),
        ("invite_expires_at", "DoublePrecision", DoublePrecision, _params(default=None, null=True)),
        ("created_at", "DoublePrecision", DoublePrecision, _params(default=0.0)),
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
    manager.add_column(
        table_class_name="Message",
        tablename="message",
        column_name="author",
        db_column_name="author",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=40, default=None, null=True),
        schema=None,
    )
    return manager
