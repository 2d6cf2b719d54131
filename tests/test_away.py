"""app/services/away.py in process, on a fixed clock: the away message once per away period across a weekend, a DST
change and the opening of business hours (Europe/Berlin), again after support was there; two visitor messages
racing get it once; the settings' defaults from the environment and the owner's saved values."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from app.services.away import AwaySettings, HoursForm, SupportStatus, away_settings_of
from app.services.branding import one_line
from app.services.hours import utc
from app.services.presence import ADMIN
from app.services.streams import visitor_stream
from app.services.workspace import Snapshot
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database
from tests.test_streams import next_event

AWAY = "Closed for now"


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(
        tmp_path_factory.mktemp("away"),
        BUSINESS_HOURS="Mon-Fri 09:00-18:00",
        TIMEZONE="Europe/Berlin",
        AWAY_MESSAGE=AWAY,
    )
    yield settings
    drop_database(settings.database_url)


async def system_count(s, conversation_id: int) -> int:
    messages, _ = await s.conversations.page(conversation_id)
    return sum(1 for m in messages if m.sender == "system")


async def test_once_per_away_period_across_a_weekend_and_the_dst_change(settings):
    async with running_services(settings) as s:
        clock = {"now": 0.0}
        s.away.now = lambda: clock["now"]
        thread, _ = await s.conversations.start("Jonas", "en")
        notices = []

        async def write(at: float) -> None:
            clock["now"] = at
            await s.messaging.send(thread.id, "visitor", f"at {at}")
            notices.append(await system_count(s, thread.id))

        await write(utc(2026, 3, 27, 17, 30))  # Friday 18:30 CET: closed since 18:00 local
        await write(utc(2026, 3, 28, 10))  # Saturday: the same closed stretch
        await write(utc(2026, 3, 30, 6, 30))  # Monday 08:30 CEST (summer time now): still closed
        await write(utc(2026, 3, 30, 7, 30))  # Monday 09:30 CEST: open, nobody there: a new away period
        await write(utc(2026, 3, 30, 8))  # the same one
        assert notices == [1, 1, 1, 2, 2]
        messages, _ = await s.conversations.page(thread.id)
        assert [m.sender for m in messages[:2]] == ["visitor", "system"] and messages[1].text == AWAY

        await s.presence.enter(ADMIN)
        try:
            await write(utc(2026, 3, 30, 9))  # support is there: no away message, and the period ends
        finally:
            await s.presence.leave(ADMIN)
        await write(utc(2026, 3, 30, 9, 30))  # gone again: a new away period
        await write(utc(2026, 3, 30, 9, 45))
        assert notices[5:] == [2, 3, 3]


async def test_two_racing_messages_get_one_away_message(settings):
    async with running_services(settings) as s:
        s.away.now = lambda: utc(2026, 10, 25, 12)  # Sunday: closed
        thread, _ = await s.conversations.start("", "en")
        await asyncio.gather(*(s.messaging.send(thread.id, "visitor", f"race {i}") for i in range(4)))
        assert await system_count(s, thread.id) == 1


def test_stored_values_win_over_the_environment():
    defaults = AwaySettings("Mon 09:00-10:00", "Europe/Istanbul", "Away", "soon", True)
    assert away_settings_of(Snapshot({}, {}), defaults) == defaults
    stored = Snapshot({"business_hours": "", "timezone": "UTC", "hide_when_away": "off"}, {})
    mixed = away_settings_of(stored, defaults)
    assert (mixed.business_hours, mixed.timezone, mixed.away_message) == ("", "UTC", "Away")
    assert not mixed.hide_when_away
    assert mixed.schedule.always_open


def test_the_form_reports_both_fields_and_keeps_only_what_was_posted():
    form = HoursForm.posted({"business_hours": "Mon 9-5", "timezone": "Nowhere/Land", "hours_form": "1"})
    values = form.checked(one_line)
    assert set(form.errors) == {"business_hours", "timezone"}
    assert set(values) == {"business_hours", "timezone", "hide_when_away"}  # away_message was not posted
    good = HoursForm.posted({"business_hours": " mon-fri 09:00-18:00 ;\n sat  10:00-14:00 ", "timezone": ""})
    assert good.checked(one_line) == {"business_hours": "mon-fri 09:00-18:00; sat 10:00-14:00", "timezone": "UTC"}
    assert not good.errors


async def test_nothing_is_posted_until_away_mode_is_set_up(tmp_path):
    bare = migrated_settings(tmp_path)
    try:
        async with running_services(bare) as s:
            thread, _ = await s.conversations.start("", "en")
            await s.messaging.send(thread.id, "visitor", "hello")
            assert await system_count(s, thread.id) == 0  # away (nobody online), but no away message or hours
            assert await s.visitor_pages.emails.asks()  # ASK_EMAIL=away still asks
    finally:
        drop_database(bare.database_url)


async def test_ask_email_away_and_the_status_follow_business_hours(settings):
    async with running_services(settings) as s:
        await s.presence.enter(ADMIN)  # an available agent on a dashboard
        try:
            s.away.now = lambda: utc(2026, 3, 30, 8)  # Monday 10:00 CEST: open
            assert await s.away.support_online() and not await s.visitor_pages.emails.asks()
            assert (await s.away.status()).online
            s.away.now = lambda: utc(2026, 3, 30, 17)  # Monday 19:00 CEST: closed, the dashboard does not count
            assert not await s.away.support_online() and await s.visitor_pages.emails.asks()
            assert await s.away.status() == SupportStatus(False, AWAY, "")
        finally:
            await s.presence.leave(ADMIN)


async def test_the_visitor_stream_updates_the_status_line_when_the_hours_close(tmp_path):
    """No presence event happens at closing time: the stream rechecks when the hours flip (at the next event or
    idle tick, every SSE_PING_SECONDS at most)."""
    fast = migrated_settings(tmp_path, BUSINESS_HOURS="Mon-Fri 09:00-18:00", SSE_PING_SECONDS="0.2")
    clock = {"now": utc(2026, 12, 7, 17, 59)}  # Monday, open (UTC)
    try:
        async with running_services(fast) as s:
            s.away.now = lambda: clock["now"]
            await s.presence.enter(ADMIN)
            thread, token = await s.conversations.start("", "en")
            try:
                async with aclosing(visitor_stream(s.streams, thread.id, token, 0, "en", embed=False)) as stream:
                    first = await next_event(stream)
                    assert first is not None and "support-status online" in first.data
                    clock["now"] = utc(2026, 12, 7, 18, 1)  # closed
                    for _ in range(20):
                        event = await next_event(stream)
                        if event is not None and "support-status" in event.data:
                            break
                    assert event is not None and "support-status offline" in event.data
            finally:
                await s.presence.leave(ADMIN)
    finally:
        drop_database(fast.database_url)
