"""Per-agent read marks (app/services/read_marks.py, SPEC §8) across an upgrade: a database from before them keeps
its unread counts, now each agent's (nobody sees new unread, nobody's unread vanishes), and from there on each
agent reads for themselves."""

from __future__ import annotations

from pathlib import Path

from app.services.crypto import new_token
from app.settings import Settings
from tests.inprocess import bindings_kept, migrate_in_process, running_services
from tests.support import base_env, create_database, drop_database, sql
from tests.test_agents import migrate_to

LAST_BEFORE_READ_MARKS = "2026-12-07T09:00:00:000000"


async def test_an_upgrade_gives_every_agent_the_old_unread_counts(tmp_path: Path) -> None:
    url = create_database(tmp_path)
    try:
        with bindings_kept():
            await migrate_to(url, LAST_BEFORE_READ_MARKS, new_token())
            sql(
                url,
                "INSERT INTO conversation (visitor_token_hash, display_name, language, created_at, "
                "last_activity_at, last_seq, cleared_seq, unread_count, last_preview, last_sender) VALUES "
                "('old-hash', 'Old', 'en', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 5, 0, 3, '', 'visitor')",
            )
            for username in ("admin", "bea"):
                sql(
                    url,
                    "INSERT INTO agent (username, display_name, role, password_hash, disabled) "
                    "VALUES (?, '', ?, '', ?)",
                    username,
                    "agent",
                    False,
                )
            await migrate_in_process(url)
        async with running_services(Settings.from_env(base_env(tmp_path, url)), workers=False) as services:
            conversations = services.conversations
            for agent in ("admin", "bea", "someone.new"):
                (thread,), _ = await conversations.threads(reader=agent)
                assert thread.unread_count == 3 and await conversations.total_unread(agent) == 3
            await conversations.mark_read(thread.id, "bea")
            await conversations.post(thread.id, "visitor", "after the upgrade")
            counts = {agent: await conversations.total_unread(agent) for agent in ("admin", "bea")}
            assert counts == {"admin": 4, "bea": 1}
    finally:
        drop_database(url)
