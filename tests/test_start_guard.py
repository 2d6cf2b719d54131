"""The start form's bot checks (app/services/start_guard.py) on a fixed clock: the honeypot, the minimum fill time,
the stamp's signature and age."""

from __future__ import annotations

import pytest

from app.services.start_guard import STAMP_MAX_AGE, StartGuard
from app.services.text import TextError


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def refused(guard: StartGuard, form: dict[str, str | None]) -> str | None:
    try:
        guard.check(form)
    except TextError as error:
        return error.code
    return None


def test_a_person_at_a_persons_speed_passes_and_a_quick_post_is_asked_again():
    clock = Clock()
    guard = StartGuard("k" * 40, 2, clock)
    form: dict[str, str | None] = {"display_name": "Ayşe", "started": guard.stamp(), "hp": ""}
    clock.now += 1
    assert refused(guard, form) == "start_again"  # a bot's instant post
    clock.now += 1
    assert refused(guard, form) is None
    clock.now += STAMP_MAX_AGE
    assert refused(guard, form) == "start_again"  # a form left open for a day: shown again with a fresh stamp


@pytest.mark.parametrize("stamp", [None, "", "1800000000", "1800000000.forged", "abc.0123456789abcdef0123456789abcdef"])
def test_a_missing_or_forged_stamp_starts_nothing(stamp):
    clock = Clock()
    guard = StartGuard("k" * 40, 2, clock)
    clock.now += 60
    assert refused(guard, {"started": stamp}) == "start_again"


def test_another_servers_stamp_is_forged():
    clock = Clock()
    theirs = StartGuard("other-key" * 5, 2, clock).stamp()
    clock.now += 60
    assert refused(StartGuard("k" * 40, 2, clock), {"started": theirs}) == "start_again"


def test_the_honeypot_is_checked_even_with_the_fill_time_off():
    clock = Clock()
    guard = StartGuard("k" * 40, 0, clock)
    assert refused(guard, {}) is None  # START_MIN_SECONDS=0: no stamp needed
    assert refused(guard, {"hp": "http://spam.example"}) == "start_refused"
