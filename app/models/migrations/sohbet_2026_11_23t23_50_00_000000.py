"""(conversation, seq) is unique: the database itself refuses a duplicate or reordered sequence number."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T23:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique message sequence per conversation"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)

    async def run():
        await RawTable.raw("CREATE UNIQUE INDEX IF NOT EXISTS message_conversation_seq ON message (conversation, seq)")
        await RawTable.raw("CREATE INDEX IF NOT EXISTS presence_subject_expires ON presence (subject, expires_at)")

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS message_conversation_seq")
        await RawTable.raw("DROP INDEX IF EXISTS presence_subject_expires")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
