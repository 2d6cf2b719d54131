"""Business hours (app/services/hours.py): the parser, and whether support is open at fixed instants — across a
time zone and across both DST changes of Europe/Berlin (hours are local wall-clock times)."""

from __future__ import annotations

import pytest

from app.services.hours import HoursError, parse_hours, utc

WEEK = "Mon-Fri 09:00-18:00; Sat 10:00-14:00"


def test_empty_hours_are_always_open():
    schedule = parse_hours("  ", "Europe/Berlin")
    assert schedule.always_open and schedule.is_open(utc(2026, 12, 6, 3))  # a Sunday night
    assert schedule.boundary(utc(2026, 12, 6, 3)) == 0.0


def test_weekdays_and_saturday_in_utc():
    schedule = parse_hours(WEEK)
    assert schedule.is_open(utc(2026, 12, 7, 9))  # Monday 09:00
    assert schedule.is_open(utc(2026, 12, 7, 17, 59))
    assert not schedule.is_open(utc(2026, 12, 7, 18))  # the end is not included
    assert not schedule.is_open(utc(2026, 12, 7, 8, 59))
    assert schedule.is_open(utc(2026, 12, 12, 10))  # Saturday
    assert not schedule.is_open(utc(2026, 12, 12, 14))
    assert not schedule.is_open(utc(2026, 12, 13, 12))  # Sunday


def test_hours_are_read_in_the_time_zone():
    """Istanbul is UTC+3 all year: 09:00 there is 06:00 UTC; Tokyo's Monday starts on Sunday in UTC."""
    istanbul = parse_hours(WEEK, "Europe/Istanbul")
    assert istanbul.is_open(utc(2026, 12, 7, 6)) and not istanbul.is_open(utc(2026, 12, 7, 5, 59))
    assert not istanbul.is_open(utc(2026, 12, 7, 15)) and istanbul.is_open(utc(2026, 12, 7, 14, 59))
    tokyo = parse_hours("Mon 00:00-02:00", "Asia/Tokyo")
    assert tokyo.is_open(utc(2026, 12, 6, 15, 30))  # Sunday 15:30 UTC = Monday 00:30 in Tokyo
    assert not tokyo.is_open(utc(2026, 12, 7, 0, 30))  # Monday 00:30 UTC = Monday 09:30 in Tokyo


def test_dst_changes_keep_the_wall_clock_hours():
    """Berlin: CET (UTC+1) until 2026-03-29 01:00 UTC, then CEST (UTC+2) until 2026-10-25 01:00 UTC. 09:00 local
    is 08:00 UTC before the spring change and 07:00 UTC after it; the autumn change brings 08:00 UTC back."""
    berlin = parse_hours(WEEK, "Europe/Berlin")
    # Friday 27 March (winter time)
    assert berlin.is_open(utc(2026, 3, 27, 8)) and not berlin.is_open(utc(2026, 3, 27, 7, 30))
    # Monday 30 March (summer time)
    assert berlin.is_open(utc(2026, 3, 30, 7)) and not berlin.is_open(utc(2026, 3, 30, 6, 59))
    assert not berlin.is_open(utc(2026, 3, 30, 16)) and berlin.is_open(utc(2026, 3, 30, 15, 59))
    # Friday 23 October (summer time), Monday 26 October (winter time again)
    assert berlin.is_open(utc(2026, 10, 23, 7)) and not berlin.is_open(utc(2026, 10, 23, 16))
    assert not berlin.is_open(utc(2026, 10, 26, 7)) and berlin.is_open(utc(2026, 10, 26, 8))
    assert berlin.is_open(utc(2026, 10, 26, 16, 59)) and not berlin.is_open(utc(2026, 10, 26, 17))


def test_hours_on_the_night_of_the_change():
    """Sunday 29 March 2026 in Berlin: 02:00-03:00 local does not exist; 01:00-04:00 local is 00:00-02:00 UTC."""
    night = parse_hours("Sun 01:00-04:00", "Europe/Berlin")
    assert night.is_open(utc(2026, 3, 29, 0)) and night.is_open(utc(2026, 3, 29, 1, 59))
    assert not night.is_open(utc(2026, 3, 29, 2)) and not night.is_open(utc(2026, 3, 28, 23, 59))
    # 25 October: 02:00-03:00 local happens twice, 01:00-04:00 local is 23:00 (Sat) to 03:00 UTC
    assert night.is_open(utc(2026, 10, 24, 23)) and night.is_open(utc(2026, 10, 25, 2, 59))
    assert not night.is_open(utc(2026, 10, 25, 3))


def test_boundary_is_where_the_stretch_began_across_dst():
    berlin = parse_hours(WEEK, "Europe/Berlin")
    # Sunday 29 March, closed since Saturday 14:00 CET = 13:00 UTC
    assert berlin.boundary(utc(2026, 3, 29, 12)) == utc(2026, 3, 28, 13)
    # Monday 30 March 10:00 UTC, open since 09:00 CEST = 07:00 UTC
    assert berlin.boundary(utc(2026, 3, 30, 10)) == utc(2026, 3, 30, 7)
    # Monday 30 March 20:00 UTC: closed since 18:00 CEST = 16:00 UTC
    assert berlin.boundary(utc(2026, 3, 30, 20)) == utc(2026, 3, 30, 16)
    # Monday night, after midnight: still the same closed stretch
    assert berlin.boundary(utc(2026, 3, 31, 3)) == utc(2026, 3, 30, 16)


def test_past_midnight_ranges_wrapping_days_and_lists():
    schedule = parse_hours("Fri-Mon 22:00-02:00\nWed 08:00-10:00, 14:00-24:00")
    assert schedule.is_open(utc(2026, 12, 11, 23)) and schedule.is_open(utc(2026, 12, 12, 1))  # Fri night
    assert schedule.is_open(utc(2026, 12, 15, 1)) and not schedule.is_open(utc(2026, 12, 15, 22))  # Tue
    assert schedule.is_open(utc(2026, 12, 9, 9)) and not schedule.is_open(utc(2026, 12, 9, 12))
    assert schedule.is_open(utc(2026, 12, 9, 23, 59)) and not schedule.is_open(utc(2026, 12, 10, 0))
    assert parse_hours("monday,Wednesday 9:00-17:00").is_open(utc(2026, 12, 9, 9))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Mon-Fri", "hours.group_invalid"),
        ("Mo 09:00-18:00", "hours.day_unknown"),
        ("Funday 09:00-18:00", "hours.day_unknown"),
        ("Mon 9-18", "hours.time_invalid"),
        ("Mon 09:00-25:00", "hours.time_invalid"),
        ("Mon 09:60-18:00", "hours.time_invalid"),
        ("Mon 24:00-18:00", "hours.time_invalid"),
        ("Mon 09:00-18:00 and more", "hours.time_invalid"),
        ("Mon 09:00-18:00;" * 40, "hours.too_long"),
    ],
)
def test_bad_hours_are_refused_with_the_reason(text, code):
    with pytest.raises(HoursError) as refused:
        parse_hours(text)
    assert refused.value.code == code


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "Europe/Berlin ", "x" * 80, "/etc/localtime"])
def test_unknown_time_zones_are_refused(zone):
    if zone == "Europe/Berlin ":  # surrounding spaces are trimmed
        assert parse_hours("", zone).zone.key == "Europe/Berlin"
        return
    with pytest.raises(HoursError) as refused:
        parse_hours(WEEK, zone)
    assert refused.value.code == "hours.zone_unknown"
