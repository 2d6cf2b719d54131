"""Per-agent state (SPEC §8): `read_mark` (how many of a conversation's visitor messages an agent has read),
`conversation.visitor_count` (visitor messages ever, what a mark is compared with) and `agent.availability`
(online | away). An upgrade shows no new unread: every conversation's count starts at its old unread count and no
agent has a mark yet, so each agent reads the old global count (app/services/read_marks.py). The data and the
unique index come in the next migration (Piccolo runs a migration's raw steps before its columns)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "per-agent read marks and availability"


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
    manager.add_column(
        table_class_name="Conversation",
        tablename="conversation",
        column_name="visitor_count",
        db_column_name="visitor_count",
        column_class_name="Integer",
        column_class=Integer,
        params=_params(default=0),
        schema=None,
    )
    manager.add_column(
        table_class_name="Agent",
        tablename="agent",
        column_name="availability",
        db_column_name="availability",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=10, default="online"),
        schema=None,
    )
    manager.add_table(class_name="ReadMark", tablename="read_mark", schema=None, columns=None)
    manager.add_column(
        table_class_name="ReadMark",
        tablename="read_mark",
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
    columns = (
        ("agent", "Varchar", Varchar, _params(length=40, default="")),
        ("seen", "Integer", Integer, _params(default=0)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="ReadMark",
            tablename="read_mark",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )

    return manager
