"""Ratings and reports in process, on a real database (SQLite or PostgreSQL): resolutions recorded with the status
change (one per resolution, none for resolving twice), the rating's refusals, and the report's numbers against a
seeded history whose first-response and resolution times are known (times written into the rows), the CSV equal to
the tables, and the range's limits."""

from __future__ import annotations

import csv
import dataclasses
import io
import sqlite3
from datetime import UTC, date, datetime

import asyncpg
import pytest
from cryptography.fernet import Fernet

from app.i18n import translator
from app.models import Conversation, Message, Rating, Resolution
from app.services import ratings
from app.services.keys import rotate_keys
from app.services.ratings import RatingRefused
from app.services.reports import ReportRefused, charts, parse_range, to_csv
from tests.inprocess import bindings_kept, migrated_settings, running_services
from tests.support import drop_database

D1 = date(2026, 11, 2)
D2 = date(2026, 11, 3)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("reports"))
    yield settings
    drop_database(settings.database_url)


async def conversation(s, name: str, started: datetime, messages: list[tuple[str, str | None, datetime]]) -> int:
    """A conversation started at `started` with (sender, author, time) messages, the times written into the rows."""
    thread, _ = await s.conversations.start(name, "en")
    await Conversation.update({Conversation.created_at: started}).where(Conversation.id == thread.id)
    for sender, author, moment in messages:
        sent = await s.conversations.post(thread.id, sender, f"{sender} at {moment:%H:%M}", author=author)
        await Message.update({Message.created_at: moment}).where(
            (Message.conversation == thread.id) & (Message.seq == sent.seq)
        )
    return thread.id


async def rate_at(s, thread: int, score: int, moment: datetime, comment: str = "") -> None:
    await s.ratings.rate(thread, None, str(score), comment)
    latest = await Rating.select(Rating.id).where(Rating.conversation == thread).order_by(Rating.id, ascending=False)
    await Rating.update({Rating.created_at: moment}).where(Rating.id == latest[0]["id"])


async def test_one_resolution_per_resolve_and_one_rating_per_resolution(settings):
    async with running_services(settings) as s:
        thread, _ = await s.conversations.start("Rater", "en")
        with pytest.raises(RatingRefused) as refused:
            await s.ratings.rate(thread.id, None, "5", "")
        assert (refused.value.code, refused.value.status) == ("rating.not_resolved", 409)
        assert await s.triage.set_status(thread.id, "resolved", by="ann")
        assert await s.triage.set_status(thread.id, "resolved", by="bob")  # already resolved: nothing new
        rows = await Resolution.select().where(Resolution.conversation == thread.id)
        assert [(r["number"], r["resolved_by"]) for r in rows] == [(1, "ann")]
        for score in ("0", "6", "five", ""):
            with pytest.raises(RatingRefused) as refused:
                await s.ratings.rate(thread.id, None, score, "kept?")
            assert (refused.value.code, refused.value.status) == ("rating.score", 422)
        with pytest.raises(RatingRefused) as refused:
            await s.ratings.rate(thread.id, None, "4", "x" * 1001)
        assert refused.value.status == 422
        with pytest.raises(RatingRefused) as refused:  # the form of another conversation
            await s.ratings.rate(thread.id, str(thread.id + 1), "4", "")
        assert (refused.value.code, refused.value.status) == ("rating.not_yours", 403)
        assert await Rating.count() == 0

        done = await s.ratings.rate(thread.id, str(thread.id), "4", "  Quick and kind  ")
        assert (done.score, done.comment, done.resolution_number) == (4, "Quick and kind", 1)
        stored = await Rating.select().where(Rating.conversation == thread.id).first()
        assert stored["comment"] and "Quick" not in stored["comment"]  # encrypted like message text
        with pytest.raises(RatingRefused) as refused:
            await s.ratings.rate(thread.id, None, "1", "changed my mind")
        assert (refused.value.code, refused.value.status) == ("rating.already", 409)
        # The database itself holds one rating per resolution (two tabs at once).
        with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
            await Rating.insert(Rating(conversation=thread.id, resolution=stored["resolution"], score=1, comment=""))

        await s.conversations.post(thread.id, "visitor", "one more thing")  # reopens
        assert await s.ratings.offer(thread.id) is None
        assert await s.triage.set_status(thread.id, "resolved", by="bob")
        offer = await s.ratings.offer(thread.id)
        assert offer is not None and (offer.resolution_number, offer.rated) == (2, None)
        await s.ratings.rate(thread.id, None, "2", "")
        seen = await s.ratings.for_conversation(thread.id)
        assert [(r.resolution_number, r.score, r.comment) for r in seen] == [(1, 4, "Quick and kind"), (2, 2, "")]
        await s.conversations.clear(thread.id)  # the visitor's words go with the messages; the scores stay
        seen = await s.ratings.for_conversation(thread.id)
        assert [(r.score, r.comment) for r in seen] == [(4, ""), (2, "")]


async def test_report_numbers_against_a_known_history(settings):
    async with running_services(settings) as s:
        await Message.delete(force=True)
        await Conversation.delete(force=True)
        outside = await conversation(s, "Before", at(date(2026, 11, 1), 23), [("visitor", None, at(D1, 0, 1))])
        c1 = await conversation(
            s,
            "One",
            at(D1, 10),
            [("visitor", None, at(D1, 10)), ("admin", "ann", at(D1, 10, 2)), ("admin", "bob", at(D1, 10, 5))],
        )
        c2 = await conversation(
            s,
            "Two",
            at(D1, 12),
            [("visitor", None, at(D1, 12)), ("note", "ann", at(D1, 12, 1)), ("admin", "bob", at(D1, 12, 10))],
        )
        c3 = await conversation(s, "Three", at(D2, 8), [("visitor", None, at(D2, 8)), ("admin", "ann", at(D2, 8, 1))])
        await conversation(s, "Four", at(D2, 9), [("visitor", None, at(D2, 9))])
        assert outside and c3
        await ratings.resolve(s.engine, c1, "ann", at(D1, 11).timestamp())
        await rate_at(s, c1, 5, at(D1, 11, 30), "great")
        await ratings.resolve(s.engine, c2, "bob", at(D1, 14).timestamp())
        await rate_at(s, c2, 3, at(D1, 15))
        await s.conversations.post(c2, "visitor", "reopened")
        await ratings.resolve(s.engine, c2, "ann", at(D2, 9).timestamp())
        await rate_at(s, c2, 4, at(D2, 10))

        report = await s.reports.build(parse_range(D1.isoformat(), D2.isoformat(), D2))
        summary, days, agents, distribution = report.tables()
        # First responses 120 s (ann), 600 s (bob; the note does not count), 60 s (ann); C4 has none. Resolution
        # times 3600 s and 7200 s (the second resolution of C2 is not a resolution time). Ratings 5, 3, 4.
        assert summary.rows == [("4", "0:02:00", "0:08:24", "3", "1:30:00", "1:54:00", "3", "4.00")]
        assert days.rows == [
            ("2026-11-02", "2", "2", "0:06:00", "0:09:12", "2", "1:30:00", "1:54:00", "2", "4.00"),
            ("2026-11-03", "2", "1", "0:01:00", "0:01:00", "1", "", "", "1", "4.00"),
        ]
        assert agents.rows == [
            ("ann", "2", "2", "0:01:30", "2", "2", "4.50"),
            ("bob", "2", "1", "0:10:00", "1", "1", "3.00"),
        ]
        assert distribution.rows == [("1", "0"), ("2", "0"), ("3", "1"), ("4", "1"), ("5", "1")]

        t = translator("en")
        sections = to_csv(report.tables(), t).split("\r\n\r\n")
        assert len(sections) == 4
        for section, table in zip(sections, report.tables(), strict=True):
            parsed = list(csv.reader(io.StringIO(section)))
            assert parsed[0] == [t(header) for header in table.headers]
            assert [tuple(row) for row in parsed[1:]] == table.rows

        conversations, frt, scores = charts(report, t)
        assert [bar.value for bar in conversations.bars] == ["2", "2"] and conversations.top_label == "2"
        assert frt.kind == "line" and len(frt.points.split()) == 2  # 6 minutes, then 1 minute
        assert [bar.value for bar in scores.bars] == ["0", "0", "1", "1", "1"]
        tallest = max(conversations.bars, key=lambda bar: bar.height)
        assert tallest.y + tallest.height == conversations.baseline

        only_first_day = await s.reports.build(parse_range(D1.isoformat(), D1.isoformat(), D2))
        assert only_first_day.tables()[0].rows[0][:4] == ("2", "0:06:00", "0:09:12", "2")


async def test_key_rotation_covers_rating_comments(settings):
    async with running_services(settings) as s:
        thread, _ = await s.conversations.start("Rotated", "en")
        await s.triage.set_status(thread.id, "resolved")
        await s.ratings.rate(thread.id, None, "5", "secret praise")
        new_key = Fernet.generate_key().decode()
        rotated = dataclasses.replace(settings, encryption_keys=(new_key, *settings.encryption_keys))
        with bindings_kept():
            result = await rotate_keys(rotated, report=lambda line: None, warn=lambda line: None)
        assert result.ok and result.rotated >= 1
        stored = await Rating.select(Rating.comment).where(Rating.conversation == thread.id).first()
        assert Fernet(new_key.encode()).decrypt(stored["comment"].encode()).decode() == "secret praise"


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("2026-13-01", "2026-12-01", "reports.date"),
        ("yesterday", None, "reports.date"),
        ("2026-12-05", "2026-12-01", "reports.order"),
        ("2025-01-01", "2026-12-01", "reports.too_long"),
    ],
)
def test_bad_ranges_are_refused(start, end, code):
    with pytest.raises(ReportRefused) as refused:
        parse_range(start, end, date(2026, 12, 8))
    assert refused.value.code == code


def test_the_default_range_is_the_last_30_days():
    span = parse_range(None, None, date(2026, 12, 8))
    assert (span.start, span.end, len(span.days)) == (date(2026, 11, 9), date(2026, 12, 8), 30)
    assert len(parse_range("2025-12-08", "2026-12-08", date(2026, 12, 8)).days) == 366
