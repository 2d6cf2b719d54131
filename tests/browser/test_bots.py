"""Bots without captcha, in Chromium (SPEC §11): a person typing at a person's speed starts a chat at the first
press, with JavaScript or without; pressed too soon (faster than any person types a name), the form comes back
with what was typed and a second press starts it. The naive bot's side is tests/server/test_bots.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def guarded(make_server):
    return make_server("bots-browser", START_MIN_SECONDS="2")


def test_a_person_starts_a_chat_at_the_first_press(guarded, browsers):
    page = browsers.new_page(guarded.url)
    page.goto("/")
    page.locator("#display_name").press_sequentially("Deniz", delay=500)  # 2.5 s, a person's speed
    page.click("form[action='/chat/start'] button[type=submit]")
    expect(page.locator("#composer-text")).to_be_visible()
    assert page.locator("[name=hp]").count() == 0  # gone with the form
    browsers.assert_clean()


@pytest.mark.parametrize("javascript", [True, False])
def test_pressed_too_soon_the_form_comes_back_and_a_second_press_starts(guarded, browsers, javascript):
    page = browsers.new_page(guarded.url, java_script_enabled=javascript)
    page.goto("/")
    page.fill("#display_name", "Quick")
    page.click("form[action='/chat/start'] button[type=submit]")
    expect(page.locator("#start-error")).to_contain_text("press Start chat again")
    expect(page.locator("#display_name")).to_have_value("Quick")
    page.wait_for_timeout(2100)
    page.click("form[action='/chat/start'] button[type=submit]")
    expect(page.locator("#composer-text")).to_be_visible()
    browsers.assert_clean(("status of 422",))  # the refused first press


def test_the_honeypot_is_out_of_sight_and_out_of_reach(guarded, browsers):
    page = browsers.new_page(guarded.url)
    page.goto("/")
    assert not page.locator("[name=hp]").is_visible()
    page.locator("#display_name").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") != "hp"
