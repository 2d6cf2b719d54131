"""Away mode (SPEC §9): `conversation.away_notice_at`, when the away message was last posted in the conversation
(epoch seconds). It is posted again only in a later away period (app/services/away.py); a conditional UPDATE on
this column decides which of two racing posts gets it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import DoublePrecision
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "away message once per away period"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Conversation",
        tablename="conversation",
        column_name="away_notice_at",
        db_column_name="away_notice_at",
        column_class_name="DoublePrecision",
        column_class=DoublePrecision,
        params={
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
