"""Per-agent state, part two: every conversation's visitor count starts at its unread count (no new unread after
the upgrade), and a read mark is unique per (agent, conversation) (its upsert relies on it)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T11:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "per-agent read marks: data and unique index"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)

    async def run():
        await RawTable.raw("UPDATE conversation SET visitor_count = unread_count")
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS read_mark_agent_conversation ON read_mark (agent, conversation)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS read_mark_agent_conversation")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
