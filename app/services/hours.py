"""Business hours (SPEC §9): the weekly schedule `BUSINESS_HOURS` ("Mon-Fri 09:00-18:00; Sat 10:00-14:00") read
in a time zone (`TIMEZONE`, a zoneinfo name), and whether support is open at an instant.

Hours are local wall-clock times: 09:00 in Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer, so every
check converts the instant to the zone (zoneinfo knows each DST change) and compares wall-clock minutes. An empty
schedule means always open. A range whose end is not after its start runs past midnight ("Fri 22:00-02:00").
Pure functions, no I/O: the caller passes the instant (app.clock.now() in the app, a fixed one in tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_MINUTES = 24 * 60
HOURS_MAX = 500  # characters of BUSINESS_HOURS
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


class HoursError(ValueError):
    """BUSINESS_HOURS or TIMEZONE is not understood: `str(error)` says where (English, for logs and the CLI);
    `code` is the i18n key and `detail` the part that is wrong (for the settings page)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail!r}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Span:
    """Open on `day` (0 = Monday) from `start` to `end`, minutes after local midnight (end ≤ 1440)."""

    day: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Schedule:
    """The weekly hours in their zone. No spans: always open."""

    spans: tuple[Span, ...]
    zone: ZoneInfo

    @property
    def always_open(self) -> bool:
        return not self.spans

    def is_open(self, at: float) -> bool:
        """Whether `at` (epoch seconds) falls in the hours, read on the zone's wall clock."""
        if self.always_open:
            return True
        local = datetime.fromtimestamp(at, self.zone)
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        return any(s.day == weekday and s.start <= minute < s.end for s in self.spans)

    def boundary(self, at: float) -> float:
        """The instant the current open or closed stretch began (epoch seconds): the latest span start at or
        before `at` while open, the latest span end while closed. 0.0 when always open. Looks back a week."""
        if self.always_open:
            return 0.0
        opened = self.is_open(at)
        today = datetime.fromtimestamp(at, self.zone).date()
        latest = 0.0
        for back in range(8):
            day = today - timedelta(days=back)
            for span in self.spans:
                if span.day != day.weekday():
                    continue
                moment = self._instant(day, span.start if opened else span.end)
                if latest < moment <= at:
                    latest = moment
        return latest

    def _instant(self, day: date, minute: int) -> float:
        """Wall-clock `minute` of local `day` as epoch seconds (24:00 is the next day's midnight; a time skipped
        by a DST change resolves as zoneinfo does, fold 0)."""
        day += timedelta(days=minute // DAY_MINUTES)
        minute %= DAY_MINUTES
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone).timestamp()


def zone_of(name: str) -> ZoneInfo:
    """The zone for an IANA name (`Europe/Istanbul`; empty: UTC). HoursError("hours.zone_unknown") otherwise."""
    name = name.strip() or "UTC"
    if len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name) or name.startswith("/") or ".." in name:
        raise HoursError("hours.zone_unknown", name[:64])
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError("hours.zone_unknown", name) from None


def _day(text: str) -> int:
    """A day by its English name or a prefix of at least three letters (`Mon`, `Tues`, `Wednesday`)."""
    word = text.strip().lower()
    for index, name in enumerate(DAY_NAMES):
        if len(word) >= 3 and name.startswith(word):
            return index
    raise HoursError("hours.day_unknown", text.strip()[:20])


def _days(text: str) -> list[int]:
    """`Mon`, `Mon-Fri`, `Sat-Sun`, `Fri-Mon` (wraps), `Mon,Wed,Fri`, in any mix."""
    found: list[int] = []
    for item in text.split(","):
        first, dash, last = item.partition("-")
        if not dash:
            found.append(_day(first))
            continue
        a, b = _day(first), _day(last)
        found.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    return found


def _minutes(hour: str, minute: str, piece: str, *, end: bool) -> int:
    h, m = int(hour), int(minute)
    if m > 59 or h > 24 or (h == 24 and (m or not end)):
        raise HoursError("hours.time_invalid", piece)
    return h * 60 + m


def parse_hours(text: str, zone: str = "UTC") -> Schedule:
    """`BUSINESS_HOURS` in `zone`: groups separated by `;` or new lines, each days then one or more time ranges
    separated by commas ("Mon-Fri 09:00-12:00, 13:00-18:00"). Empty: always open. HoursError when not understood."""
    tz = zone_of(zone)
    if len(text) > HOURS_MAX:
        raise HoursError("hours.too_long", str(HOURS_MAX))
    spans: list[Span] = []
    for group in re.split(r"[;\n]", text):
        group = group.strip()
        if not group:
            continue
        match = re.match(r"([A-Za-z,\s-]+?)\s+(\d.*)$", group)
        if not match:
            raise HoursError("hours.group_invalid", group[:40])
        days = _days(match.group(1).replace(" ", ""))
        for piece in match.group(2).split(","):
            piece = piece.strip()
            found = _RANGE.fullmatch(piece)
            if not found:
                raise HoursError("hours.time_invalid", piece[:20])
            start = _minutes(found.group(1), found.group(2), piece, end=False)
            end = _minutes(found.group(3), found.group(4), piece, end=True)
            for day in days:
                if end > start:
                    spans.append(Span(day, start, end))
                else:  # past midnight: the rest of this day, then the next morning
                    spans.append(Span(day, start, DAY_MINUTES))
                    if end:
                        spans.append(Span((day + 1) % 7, 0, end))
    return Schedule(tuple(spans), tz)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """Epoch seconds of a UTC wall-clock time (for fixed clocks in tests and examples)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()
