"""Replies by email (SPEC §9): `conversation.emailed_seq`, the last event the visitor saw or was mailed (agent
replies after it are mailed once the visitor has been away for EMAIL_AFTER), and `conversation.email_stopped`,
set by the mail's one-click unsubscribe; `conversation.resume_token_hash`, the second visitor token a resume link
gives (the same on every device that opens it; cleared when the chat ends)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "replies by email"


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
        ("emailed_seq", "Integer", Integer, _params(default=0)),
        ("email_stopped", "Boolean", Boolean, _params(default=False)),
        ("resume_token_hash", "Varchar", Varchar, _params(length=64, null=True, default=None, index=True)),
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
