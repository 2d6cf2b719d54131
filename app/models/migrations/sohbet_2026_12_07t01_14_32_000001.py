"""Idempotent posts: a client id is unique per conversation, so racing copies of one post store once."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T01:14:32:000001"
VERSION = "1.38.0"
DESCRIPTION = "message client id unique per conversation"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)

    async def run():
        # NULLs are distinct in both databases: messages without a client id never collide.
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS message_conversation_client_msg_id ON message (conversation, client_msg_id)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS message_conversation_client_msg_id")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
