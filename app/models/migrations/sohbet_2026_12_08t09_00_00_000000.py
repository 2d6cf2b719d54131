"""Blocking (SPEC §11): `visitor_block`, the visitors (by their token's hash), addresses and address ranges that may
not chat, each with a reason and an optional end; `visitor_address`, the address a conversation was started from
(a Fernet token), so that an agent blocking a conversation blocks its address too. Deleted with the
conversation."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Column
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import DoublePrecision, ForeignKey, Integer, Serial, Text, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-08T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "visitor blocks"


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


BLOCK_COLUMNS: list[tuple[str, type[Column], dict[str, Any]]] = [
    ("kind", Varchar, {"length": 10, "default": ""}),
    ("value", Varchar, {"length": 64, "default": "", "index": True}),
    ("conversation", Integer, {"default": None, "null": True}),
    ("reason", Varchar, {"length": 200, "default": ""}),
    ("created_by", Varchar, {"length": 40, "default": ""}),
    ("created_at", DoublePrecision, {"default": 0.0}),
    ("expires_at", DoublePrecision, {"default": None, "null": True}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)
    manager.add_table(class_name="VisitorBlock", tablename="visitor_block", schema=None, columns=None)
    for name, column_class, params in BLOCK_COLUMNS:
        manager.add_column(
            table_class_name="VisitorBlock",
            tablename="visitor_block",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=_params(**params),
            schema=None,
        )
    manager.add_table(class_name="VisitorAddress", tablename="visitor_address", schema=None, columns=None)
    manager.add_column(
        table_class_name="VisitorAddress",
        tablename="visitor_address",
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
        table_class_name="VisitorAddress",
        tablename="visitor_address",
        column_name="ip",
        db_column_name="ip",
        column_class_name="Text",
        column_class=Text,
        params=_params(default=""),
        schema=None,
    )
    return manager
