"""A Telegram message id belongs to one conversation, and a forum topic to one conversation: the database refuses
a second mapping (the routing of the admin's replies never has to choose)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-24T02:16:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique telegram message and topic mappings"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS telegram_link_chat_message "
            "ON telegram_link (chat_id, telegram_message_id)"
        )
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS telegram_topic_chat_thread ON telegram_topic (chat_id, thread_id)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS telegram_link_chat_message")
        await RawTable.raw("DROP INDEX IF EXISTS telegram_topic_chat_thread")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
