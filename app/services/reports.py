"""Reports (SPEC §10): for a range of days (UTC, both ends included, at most 366 days), computed from the database
on each request: conversations per day, first-response and resolution times (median and p90), ratings, and a row
per agent. The page (tables and server-drawn SVG charts) and the CSV download show the same `Table`s.

Definitions. First-response time: from a conversation's first visitor message to the first agent message after it
(notes and system messages do not count), for the conversations started in the range (an agent's conversations
answered are those of them the agent wrote in), counted on the day they
started; the agent who sent it has that first response. Resolution time: from a conversation's start to its first
resolution (app/services/ratings.py records each one), counted on the day of that resolution; a later resolution
after a reopen counts as a resolution of its agent, not as another resolution time. Ratings count on the day they
were given and belong to the agent who resolved what was rated. Messages removed by a clear or by retention no
longer count. Percentiles are computed in Python (the `statistics` module): fine for a small team's volume, and the
same on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.models import Conversation, Message, Rating, Resolution
from app.services.charts import Chart, chart

MAX_DAYS = 366
DEFAULT_DAYS = 30
SCORES = (1, 2, 3, 4, 5)


class ReportRefused(ValueError):
    """A bad range (422). `code`: the i18n key after `error.`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class DayRange:
    start: date
    end: date  # included

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants [from, to) the range covers."""
        return (
            datetime.combine(self.start, time(), UTC),
            datetime.combine(self.end + timedelta(days=1), time(), UTC),
        )


def parse_range(start: str | None, end: str | None, today: date) -> DayRange:
    """`from` and `to` as YYYY-MM-DD; by default the last 30 days up to today. Raises ReportRefused
    (`reports.date`, `reports.order`, `reports.too_long`)."""
    try:
        last = date.fromisoformat(end.strip()) if end and end.strip() else today
        first = date.fromisoformat(start.strip()) if start and start.strip() else last - timedelta(DEFAULT_DAYS - 1)
    except ValueError:
        raise ReportRefused("reports.date") from None
    if first > last:
        raise ReportRefused("reports.order")
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportRefused("reports.too_long")
    return DayRange(first, last)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """The 90th percentile (inclusive method: a value between the observed ones, never beyond them)."""
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def duration(seconds: float | None) -> str:
    """h:mm:ss (rounded to the second); "" for none. Tables and CSV both show this."""
    if seconds is None:
        return ""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def average(values: list[int]) -> str:
    return f"{sum(values) / len(values):.2f}" if values else ""


@dataclass
class Day:
    day: date
    conversations: int = 0
    first_response: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    resolutions: int = 0
    scores: list[int] = field(default_factory=list)


@dataclass
class AgentStats:
    username: str
    answered: set[int] = field(default_factory=set)
    first_response: list[float] = field(default_factory=list)
    resolutions: int = 0
    scores: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Table:
    """A table as the page and the CSV show it: `headers` are i18n keys; cells are already text."""

    name: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass
class Report:
    range: DayRange
    days: list[Day]
    agents: list[AgentStats]
    first_response: list[float]  # every first-response time in the range, seconds
    resolution: list[float]
    resolutions: int
    scores: list[int]

    @property
    def conversations(self) -> int:
        return sum(day.conversations for day in self.days)

    @property
    def distribution(self) -> dict[int, int]:
        counted = Counter(self.scores)
        return {score: counted.get(score, 0) for score in SCORES}

    def tables(self) -> list[Table]:
        """Summary, per day, per agent and the ratings' distribution: what the page and the CSV show."""
        summary = Table(
            "summary",
            (
                "reports.conversations",
                "reports.frt_median",
                "reports.frt_p90",
                "reports.resolutions",
                "reports.resolution_median",
                "reports.resolution_p90",
                "reports.rating_count",
                "reports.rating_average",
            ),
            [
                (
                    str(self.conversations),
                    duration(median(self.first_response)),
                    duration(p90(self.first_response)),
                    str(self.resolutions),
                    duration(median(self.resolution)),
                    duration(p90(self.resolution)),
                    str(len(self.scores)),
                    average(self.scores),
                )
            ],
        )
        days = Table(
            "per_day",
            (
                "reports.day",
                "reports.conversations",
                "reports.first_responses",
                "reports.frt_median",
                "reports.frt_p90",
                "reports.resolutions",
                "reports.resolution_median",
                "reports.resolution_p90",
                "reports.rating_count",
                "reports.rating_average",
            ),
            [
                (
                    day.day.isoformat(),
                    str(day.conversations),
                    str(len(day.first_response)),
                    duration(median(day.first_response)),
                    duration(p90(day.first_response)),
                    str(day.resolutions),
                    duration(median(day.resolution)),
                    duration(p90(day.resolution)),
                    str(len(day.scores)),
                    average(day.scores),
                )
                for day in self.days
            ],
        )
        agents = Table(
            "per_agent",
            (
                "reports.agent",
                "reports.answered",
                "reports.first_responses",
                "reports.frt_median",
                "reports.resolutions",
                "reports.rating_count",
                "reports.rating_average",
            ),
            [
                (
                    agent.username,
                    str(len(agent.answered)),
                    str(len(agent.first_response)),
                    duration(median(agent.first_response)),
                    str(agent.resolutions),
                    str(len(agent.scores)),
                    average(agent.scores),
                )
                for agent in self.agents
            ],
        )
        ratings = Table(
            "ratings",
            ("reports.score", "reports.count"),
            [(str(score), str(count)) for score, count in self.distribution.items()],
        )
        return [summary, days, agents, ratings]


def to_csv(tables: Iterable[Table], t: Any) -> str:
    """The tables one after another, each with its header row (translated) and a blank line between them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, table in enumerate(tables):
        if number:
            writer.writerow([])
        writer.writerow([t(header) for header in table.headers])
        writer.writerows(table.rows)
    return out.getvalue()


def charts(report: Report, t: Any) -> list[Chart]:
    """The page's charts: new conversations per day (bars), the median first response per day in minutes (a line),
    the ratings by score (bars)."""
    labels = [day.day.isoformat() for day in report.days]
    frt = [median(day.first_response) for day in report.days]
    return [
        chart("conversations", t("reports.chart_conversations"), "bar", labels, [d.conversations for d in report.days]),
        chart("frt", t("reports.chart_frt"), "line", labels, [None if v is None else v / 60 for v in frt]),
        chart(
            "ratings", t("reports.chart_ratings"), "bar", [str(s) for s in SCORES], list(report.distribution.values())
        ),
    ]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class Reports:
    """The numbers of a report, read from the database."""

    async def build(self, span: DayRange) -> Report:
        start, end = span.bounds()
        days = {day: Day(day) for day in span.days}
        agents: dict[str, AgentStats] = {}

        def agent(username: str | None) -> AgentStats:
            name = username or "-"
            return agents.setdefault(name, AgentStats(name))

        started = await Conversation.select(Conversation.id, Conversation.created_at).where(
            (Conversation.created_at >= start) & (Conversation.created_at < end)
        )
        born = {row["id"]: row["created_at"] for row in started}
        for moment in born.values():
            days[_day(moment)].conversations += 1
        first_response: list[float] = []
        for conversation, messages in (await self._messages(start, end)).items():
            first_visitor: datetime | None = None
            responded = False
            for message in messages:
                if message["sender"] == "admin":
                    agent(message["author"]).answered.add(conversation)
                if message["sender"] == "visitor" and first_visitor is None:
                    first_visitor = message["created_at"]
                elif message["sender"] == "admin" and first_visitor is not None and not responded:
                    seconds = max(0.0, (message["created_at"] - first_visitor).total_seconds())
                    responded = True
                    if conversation in born:
                        first_response.append(seconds)
                        days[_day(born[conversation])].first_response.append(seconds)
                        agent(message["author"]).first_response.append(seconds)
        resolution: list[float] = []
        resolved = await Resolution.select(
            Resolution.number,
            Resolution.resolved_at,
            Resolution.resolved_by,
            Resolution.conversation.created_at.as_alias("started"),
        ).where((Resolution.resolved_at >= start) & (Resolution.resolved_at < end))
        for row in resolved:
            day = days[_day(row["resolved_at"])]
            day.resolutions += 1
            agent(row["resolved_by"]).resolutions += 1
            if row["number"] == 1 and row["started"] is not None:
                seconds = max(0.0, (row["resolved_at"] - row["started"]).total_seconds())
                resolution.append(seconds)
                day.resolution.append(seconds)
        scores: list[int] = []
        rated = await Rating.select(
            Rating.score, Rating.created_at, Rating.resolution.resolved_by.as_alias("resolved_by")
        ).where((Rating.created_at >= start) & (Rating.created_at < end))
        for row in rated:
            score = int(row["score"])
            scores.append(score)
            days[_day(row["created_at"])].scores.append(score)
            agent(row["resolved_by"]).scores.append(score)
        ordered = sorted(agents.values(), key=lambda stats: stats.username)
        return Report(span, list(days.values()), ordered, first_response, resolution, len(resolved), scores)

    async def _messages(self, start: datetime, end: datetime) -> dict[int, list[dict[str, Any]]]:
        """The visitor and agent messages of the conversations started in the range, in order, per conversation."""
        rows = (
            await Message.select(Message.conversation, Message.sender, Message.created_at, Message.author)
            .where(
                (Message.conversation.created_at >= start)
                & (Message.conversation.created_at < end)
                & Message.sender.is_in(["visitor", "admin"])
            )
            .order_by(Message.conversation)
            .order_by(Message.seq)
        )
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            grouped[row["conversation"]].append(row)
        return grouped
