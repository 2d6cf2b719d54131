"""Ratings and reports (SPEC §10): `resolution` (each time a conversation was resolved, by whom) and `rating` (the
visitor's score and encrypted comment, one per resolution: `rating.resolution` is unique). Both tables start empty:
resolutions from before this version were not recorded, so reports count resolutions from the upgrade on."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-08T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "resolutions and ratings"


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


class Resolution(Table, tablename="resolution", schema=None):
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


def _foreign_key(references, **overrides):
    return _params(
        references=references,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        index=True,
        **overrides,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)

    def column(table_class, tablename, name, column_class, params):
        manager.add_column(
            table_class_name=table_class,
            tablename=tablename,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )

    manager.add_table(class_name="Resolution", tablename="resolution", schema=None, columns=None)
    column("Resolution", "resolution", "conversation", ForeignKey, _foreign_key(Conversation))
    column("Resolution", "resolution", "number", Integer, _params(default=1))
    column("Resolution", "resolution", "resolved_at", Timestamptz, _params(default=TimestamptzNow(), index=True))
    column("Resolution", "resolution", "resolved_by", Varchar, _params(length=40, default=None, null=True))

    manager.add_table(class_name="Rating", tablename="rating", schema=None, columns=None)
    column("Rating", "rating", "conversation", ForeignKey, _foreign_key(Conversation))
    column("Rating", "rating", "resolution", ForeignKey, _foreign_key(Resolution, unique=True))
    column("Rating", "rating", "score", Integer, _params(default=0))
    column("Rating", "rating", "comment", Text, _params(default=""))
    column("Rating", "rating", "created_at", Timestamptz, _params(default=TimestamptzNow(), index=True))
    return manager
