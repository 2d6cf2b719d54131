"""Idempotent posts (SPEC §13): a message may carry the client's id for it (`client_msg_id` of a composer form,
`Idempotency-Key` of the JSON API). The column here (so Piccolo's picture of the schema has it); its unique index
per conversation in the next migration (Piccolo runs a migration's raw steps before its add_column steps)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T01:14:32:000000"
VERSION = "1.38.0"
DESCRIPTION = "message client id"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Message",
        tablename="message",
        column_name="client_msg_id",
        db_column_name="client_msg_id",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
