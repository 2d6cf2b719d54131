"""Mail (SPEC §9): `mail_outbox`, one row per mail to send, written in the transaction that causes it and sent by
app/services/mail/outbox.py; `conversation.email`, the visitor's address for replies by email (a Fernet token)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, DoublePrecision, ForeignKey, Integer, Text, Varchar
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-08T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mail outbox and visitor email"


class Conversation(Table, tablename="conversation", schema=None):
    id = Serial(primary_key=True)


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
    manager.add_column(
        table_class_name="Conversation",
        tablename="conversation",
        column_name="email",
        db_column_name="email",
        column_class_name="Text",
        column_class=Text,
        params=_params(null=True, default=None),
        schema=None,
    )
    manager.add_table(class_name="MailOutbox", tablename="mail_outbox", schema=None, columns=None)
    foreign_key = _params(
        null=True,
        default=None,
        index=True,
        references=Conversation,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )
    columns = (
        ("conversation", "ForeignKey", ForeignKey, foreign_key),
        ("kind", "Varchar", Varchar, _params(length=20, default="")),
        ("recipient", "Text", Text, _params(default="")),
        ("body", "Text", Text, _params(default="")),
        ("attempts", "Integer", Integer, _params(default=0)),
        ("next_try_at", "DoublePrecision", DoublePrecision, _params(default=0.0)),
        ("last_error", "Varchar", Varchar, _params(length=200, default="")),
        ("sent", "Boolean", Boolean, _params(default=False, index=True)),
        ("created_at", "DoublePrecision", DoublePrecision, _params(default=0.0)),
        ("sent_at", "DoublePrecision", DoublePrecision, _params(null=True, default=None)),
        ("failed_at", "DoublePrecision", DoublePrecision, _params(null=True, default=None)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="MailOutbox",
            tablename="mail_outbox",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
