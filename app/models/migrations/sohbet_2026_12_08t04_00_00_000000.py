"""Labels (SPEC §10): `conversation_label`, the labels agents put on a conversation (plain text: support's own
words). The unique index on (conversation, label) comes in the next migration (Piccolo runs a migration's raw
steps before its columns)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-08T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversation labels"


class Conversation(Table, tablename="conversation", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


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
    manager.add_table(class_name="ConversationLabel", tablename="conversation_label", schema=None, columns=None)
    manager.add_column(
        table_class_name="ConversationLabel",
        tablename="conversation_label",
        column_name="conversation",
        db_column_name="conversation",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params=_params(
            references=Conversation,
            on_delete=OnDelete.cascade,
            on_update=OnUpdate.cascade,
            target_column=None,
            null=True,
            index=True,
        ),
        schema=None,
    )
    manager.add_column(
        table_class_name="ConversationLabel",
        tablename="conversation_label",
        column_name="label",
        db_column_name="label",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=30, default="", index=True),
        schema=None,
    )
    return manager
