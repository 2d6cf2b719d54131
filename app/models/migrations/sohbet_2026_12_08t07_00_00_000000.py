"""Read receipts (SPEC §10): `conversation.agent_seen_seq`, how far an agent has seen the conversation (set when one
opens it, or their stream shows it), and `conversation.visitor_seen_seq`, how far the visitor has (their page or
stream showed it). Each only grows (app/services/receipts.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "read receipts"


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
        ("agent_seen_seq", "Integer", Integer, _params(default=0)),
        ("visitor_seen_seq", "Integer", Integer, _params(default=0)),
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
