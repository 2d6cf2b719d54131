"""Idempotent posts (SPEC §13): a message may carry the client's id for it (`client_msg_id` of a composer form,
`Idempotency-Key` of the JSON API), unique per conversation, so a retried post is recognised and stored once.

Raw SQL for both steps: Piccolo runs a migration's raw steps before its add_column steps, and the index needs
the column first."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T01:14:32:000000"
VERSION = "1.38.0"
DESCRIPTION = "message client id, unique per conversation"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)

    async def run():
        await RawTable.raw("ALTER TABLE message ADD COLUMN client_msg_id VARCHAR(64) NULL DEFAULT NULL")
        # NULLs are distinct in both databases: messages without a client id never collide.
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS message_conversation_client_msg_id ON message (conversation, client_msg_id)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS message_conversation_client_msg_id")
        await RawTable.raw("ALTER TABLE message DROP COLUMN client_msg_id")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
