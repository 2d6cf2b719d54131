"""Background housekeeping (every server process, first pass seconds after start, then hourly): Telegram updates
handled more than 30 days ago go (the newest stays: the poller's offset), and so do counters past their window —
without anyone running `sohbet cleanup`."""

from __future__ import annotations

import time

from tests.support import base_env, create_database, drop_database, migrate, sql, wait_until

DAY = 86400.0


def test_old_telegram_updates_and_counters_go_in_the_background(make_server, tmp_path):
    url = create_database(tmp_path)
    env = base_env(tmp_path, url)
    migrate(url, env)
    server = None
    try:
        moment = time.time()
        for update_id, age in ((1, 40 * DAY), (2, 31 * DAY), (3, 29 * DAY), (4, 60), (9, 45 * DAY)):
            sql(
                url,
                "INSERT INTO telegram_update (update_id, outcome, processed_at) VALUES (?, ?, ?)",
                update_id,
                "posted",
                moment - age,
            )
        for key, expires_at in (("stale", moment - 10), ("live", moment + 600)):
            sql(
                url,
                'INSERT INTO counter ("key", "count", expires_at, blocked_until) VALUES (?, ?, ?, ?)',
                key,
                3,
                expires_at,
                0.0,
            )
        server = make_server("housekeeping", DATABASE_URL=url, ENCRYPTION_KEYS=env["ENCRYPTION_KEYS"])

        def updates() -> list[int]:
            return sorted(row[0] for row in sql(url, "SELECT update_id FROM telegram_update"))

        wait_until(lambda: updates() != [1, 2, 3, 4, 9], timeout=30, message="the first housekeeping pass")
        # 9 is more than 30 days old but the newest: the poller's offset is read from it.
        assert updates() == [3, 4, 9]
        assert sorted(row[0] for row in sql(url, 'SELECT "key" FROM counter')) == ["live"]
        assert '"event": "housekeeping.deleted"' in server.stderr()
    finally:
        if server is not None:
            server.stop()
        drop_database(url)
