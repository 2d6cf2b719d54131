"""Labels, part two: a label is on a conversation at most once (the add relies on it when two agents race)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-08T04:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "conversation labels: unique index"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS conversation_label_unique ON conversation_label (conversation, label)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS conversation_label_unique")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
