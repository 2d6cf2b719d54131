"""app/services/canned.py's pure rules: which shortcuts are accepted, and `{name}` filled in."""

from __future__ import annotations

import pytest

from app.services.canned import CannedRefused, clean_shortcut, clean_text, fill


@pytest.mark.parametrize(("typed", "stored"), [("greet", "greet"), (" /Greet ", "greet"), ("a-b_9", "a-b_9")])
def test_shortcuts_accepted(typed, stored):
    assert clean_shortcut(typed) == stored


@pytest.mark.parametrize("typed", ["", "/", "two words", "x" * 31, "ümlaut", "dot.ted"])
def test_shortcuts_refused(typed):
    with pytest.raises(CannedRefused) as refused:
        clean_shortcut(typed)
    assert (refused.value.status, refused.value.code) == (422, "canned.bad_shortcut")


def test_text_rules_and_name():
    assert clean_text("  Hello {name}  ") == "Hello {name}"
    for bad, code in (("   ", "canned.empty"), ("y" * 2001, "canned.too_long"), ("y" * 5000, "canned.too_long")):
        with pytest.raises(CannedRefused, match=code):
            clean_text(bad)
    assert fill("Hi {name}, {name}!", "Ayşe") == "Hi Ayşe, Ayşe!"
    assert fill("No placeholder", "Ayşe") == "No placeholder"
