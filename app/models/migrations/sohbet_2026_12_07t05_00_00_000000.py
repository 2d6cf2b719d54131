"""The `workspace_setting` table: settings changed on /admin/settings (branding, embedding sites), the logo."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Bytea, DoublePrecision, Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "workspace settings"


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
    manager.add_table(class_name="WorkspaceSetting", tablename="workspace_setting", schema=None, columns=None)
    columns = (
        ("key", "Varchar", Varchar, _params(length=40, default="", unique=True, index=True)),
        ("value", "Text", Text, _params(default="")),
        ("data", "Bytea", Bytea, _params(default=None, null=True)),
        ("updated_at", "DoublePrecision", DoublePrecision, _params(default=0.0)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="WorkspaceSetting",
            tablename="workspace_setting",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
