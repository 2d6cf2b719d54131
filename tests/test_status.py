"""app/services/status.py in process, on a real database (SQLite or PostgreSQL): conversation status (open,
snoozed until a time, resolved), a visitor message reopening, a snooze ending by itself, the `until` durations,
the dashboard's view filters, and round robin among online, enabled agents."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.clock import now
from app.models import Conversation
from app.services.presence import agent_subject
from app.services.realtime import ADMIN_TOPIC
from app.services.status import StatusRefused, ThreadFilter, parse_until
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database

MOMENT = 1_800_000_000.0


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("status"))
    yield settings
    drop_database(settings.database_url)


@pytest.fixture(scope="module")
def round_robin(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("round-robin"), ASSIGNMENT="round_robin")
    yield settings
    drop_database(settings.database_url)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("1w", 604800), (" 2H ", 7200), ("90m", 5400)],
)
def test_durations(text, seconds):
    assert parse_until(text, MOMENT) == MOMENT + seconds


def test_iso_times_with_and_without_an_offset():
    later = datetime.fromtimestamp(MOMENT, UTC) + timedelta(hours=3)
    assert parse_until(later.isoformat(), MOMENT) == MOMENT + 3 * 3600
    naive = later.replace(tzinfo=None).isoformat()  # no offset: UTC
    assert parse_until(naive, MOMENT) == MOMENT + 3 * 3600
    assert parse_until(later.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), MOMENT) == MOMENT + 3 * 3600


@pytest.mark.parametrize("text", ["", "soon", "2", "2y", "-1h", "0m", "400d", "1970-01-01T00:00:00", "2h30"])
def test_bad_until_is_refused(text):
    with pytest.raises(StatusRefused) as refused:
        parse_until(text, MOMENT)
    assert refused.value.code == "snooze_until"


def test_unknown_views_and_statuses_are_refused():
    assert ThreadFilter.parse(None, None, "ann") == ThreadFilter("all", "open", "ann")
    for view, status, code in [("theirs", "open", "bad_view"), ("all", "closed", "bad_status")]:
        with pytest.raises(StatusRefused) as refused:
            ThreadFilter.parse(view, status, "ann")
        assert refused.value.code == code


async def test_status_changes_and_a_visitor_message_reopens(settings):
    async with running_services(settings) as s:
        thread, _ = await s.conversations.start("Ayşe", "tr")
        assert (thread.status, thread.assignee, thread.snoozed_until) == ("open", None, None)

        assert await s.triage.set_status(thread.id, "resolved")
        assert (await s.conversations.get(thread.id)).status == "resolved"
        await s.conversations.post(thread.id, "admin", "a reply does not reopen")
        assert (await s.conversations.get(thread.id)).status == "resolved"
        await s.conversations.post(thread.id, "visitor", "one more question")
        assert (await s.conversations.get(thread.id)).status == "open"

        assert await s.triage.set_status(thread.id, "snoozed", "2h")
        snoozed = await s.conversations.get(thread.id)
        assert snoozed.status == "snoozed"
        assert abs(snoozed.snoozed_until.timestamp() - (now() + 7200)) < 60
        await s.conversations.post(thread.id, "visitor", "still there?")
        row = await Conversation.select().where(Conversation.id == thread.id).first()
        assert (row["status"], row["snoozed_until"]) == ("open", None)

        for status, until in [("snoozed", None), ("snoozed", "later"), ("open", "2h"), ("closed", None)]:
            with pytest.raises(StatusRefused):
                await s.triage.set_status(thread.id, status, until)
        assert (await s.conversations.get(thread.id)).status == "open"  # nothing changed
        assert not await s.triage.set_status(2**31 - 1, "resolved")  # no such conversation


async def test_a_snooze_ends_by_itself(settings):
    async with running_services(settings) as s:
        thread, _ = await s.conversations.start("Sleepy", "en")
        await s.triage.set_status(thread.id, "snoozed", "30m")

        async def listed(status: str) -> set[int]:
            threads, _ = await s.conversations.threads(limit=200, view=ThreadFilter("all", status, ""))
            return {t.id for t in threads}

        assert thread.id in await listed("snoozed") and thread.id not in await listed("open")
        # Its time comes (the row is not rewritten by anyone): it reads and lists as open.
        await Conversation.update({Conversation.snoozed_until: now() - 1}).where(Conversation.id == thread.id)
        assert (await s.conversations.get(thread.id)).status == "open"
        assert thread.id in await listed("open") and thread.id not in await listed("snoozed")
        # The alarm rewrites it as open once, and announces it to the dashboards (their lists refresh).
        dashboards = s.hub.subscribe([ADMIN_TOPIC])
        try:
            assert thread.id in await s.snoozes.wake_due()
            assert thread.id not in await s.snoozes.wake_due()  # once only
            await asyncio.sleep(0.2)  # PostgreSQL: the NOTIFY comes back through the broker's LISTEN
            assert any(e.kind == "thread" and e.conversation_id == thread.id for e in dashboards.pending)
        finally:
            s.hub.unsubscribe(dashboards)
        row = await Conversation.select().where(Conversation.id == thread.id).first()
        assert (row["status"], row["snoozed_until"]) == ("open", None)


async def test_views_filter_by_assignee_and_status(settings):
    async with running_services(settings) as s:
        await s.agents.create("ann", "Ann", "agent")
        await s.agents.create("bob", "Bob", "agent")
        mine, _ = await s.conversations.start("Mine", "en")
        theirs, _ = await s.conversations.start("Theirs", "en")
        nobody, _ = await s.conversations.start("Nobody", "en")
        await s.triage.assign(mine.id, "me", "ann")
        await s.triage.assign(theirs.id, "bob", "ann")
        await s.triage.set_status(nobody.id, "resolved")

        async def listed(view: str, status: str) -> set[int]:
            threads, _ = await s.conversations.threads(limit=200, view=ThreadFilter(view, status, "ann"))
            return {t.id for t in threads} & {mine.id, theirs.id, nobody.id}

        assert await listed("all", "open") == {mine.id, theirs.id}
        assert await listed("mine", "open") == {mine.id}
        assert await listed("unassigned", "open") == set()
        assert await listed("unassigned", "resolved") == {nobody.id}
        assert (await s.conversations.get(mine.id)).assignee == "ann"

        await s.agents.disable("bob")
        with pytest.raises(StatusRefused) as refused:
            await s.triage.assign(mine.id, "bob", "ann")  # disabled
        assert refused.value.code == "unknown_agent"
        with pytest.raises(StatusRefused):
            await s.triage.assign(mine.id, "nobody-here", "ann")
        assert (await s.conversations.get(mine.id)).assignee == "ann"
        await s.triage.assign(mine.id, "", "ann")
        assert (await s.conversations.get(mine.id)).assignee is None


async def test_manual_assignment_leaves_new_conversations_unassigned(settings):
    async with running_services(settings) as s:
        await s.presence.enter(agent_subject("ann"))
        try:
            thread, _ = await s.conversations.start("Manual", "en")
        finally:
            await s.presence.leave(agent_subject("ann"))
        assert thread.assignee is None


async def test_round_robin_gives_new_conversations_to_online_enabled_agents_in_turn(round_robin):
    async with running_services(round_robin) as s:
        for name in ("ann", "bob", "cem", "dee"):
            await s.agents.create(name, name.title(), "agent")
        await s.agents.disable("dee")

        async def assignee() -> str | None:
            thread, _ = await s.conversations.start("Visitor", "en")
            return thread.assignee

        assert await assignee() is None  # nobody online
        online = ["ann", "cem", "dee"]  # bob is offline; dee is online but disabled
        for name in online:
            await s.presence.enter(agent_subject(name))
        try:
            assert [await assignee() for _ in range(5)] == ["ann", "cem", "ann", "cem", "ann"]
            await s.presence.enter(agent_subject("bob"))  # bob comes online: his turn comes after ann's
            try:
                assert [await assignee() for _ in range(4)] == ["bob", "cem", "ann", "bob"]
            finally:
                await s.presence.leave(agent_subject("bob"))
            assert await assignee() == "cem"
        finally:
            for name in online:
                await s.presence.leave(agent_subject(name))
        assert await s.presence.online_agents() == set()
