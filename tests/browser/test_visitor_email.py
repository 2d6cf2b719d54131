"""Email capture in Chromium (SPEC §9): with JavaScript, an address the browser accepts but the server does not
(no dot in the domain) comes back as a 422 swapped in place with the name and the address still typed; a good one
starts the chat, and "Get replies by email" on the conversation swaps its box. Without JavaScript the same forms
post and redirect."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import BrowserSession, assert_not_reloaded, mark_page
from tests.browser.embed_host import unique

pytestmark = pytest.mark.browser

REFUSED = "That does not look like an email address"


def test_the_start_form_keeps_what_was_typed_and_takes_the_address(server, browsers: BrowserSession):
    name = unique("Mailer")
    visitor = browsers.new_page(server.url)
    visitor.goto("/")
    mark_page(visitor)
    visitor.fill("#display_name", name)
    visitor.fill("#start-email", "mailer@localhost")
    visitor.click("form[action='/chat/start'] button[type=submit]")
    expect(visitor.locator("#start-error")).to_contain_text(REFUSED)
    expect(visitor.locator("#display_name")).to_have_value(name)
    expect(visitor.locator("#start-email")).to_have_value("mailer@localhost")
    expect(visitor.locator("#start-email")).to_have_attribute("aria-invalid", "true")
    visitor.fill("#start-email", "mailer@example.com")
    visitor.click("form[action='/chat/start'] button[type=submit]")
    expect(visitor.locator("#composer-text")).to_be_visible()
    expect(visitor.locator("#email-box .email-saved")).to_contain_text("mailer@example.com")
    assert_not_reloaded(visitor)
    browsers.assert_clean(expected_console_errors=("422",))


def test_get_replies_by_email_in_the_conversation(server, browsers: BrowserSession):
    visitor = browsers.new_page(server.url)
    visitor.goto("/")
    mark_page(visitor)
    visitor.fill("#display_name", unique("Later"))
    visitor.click("form[action='/chat/start'] button[type=submit]")
    visitor.click("#email-box a")  # the offer opens the form in place
    visitor.fill("#email", "later@localhost")
    visitor.click("#email-box button[type=submit]")
    expect(visitor.locator("#email-error")).to_contain_text(REFUSED)
    expect(visitor.locator("#email")).to_have_value("later@localhost")
    visitor.fill("#email", "later@example.com")
    visitor.click("#email-box button[type=submit]")
    expect(visitor.locator("#email-box .email-saved")).to_contain_text("later@example.com")
    assert_not_reloaded(visitor)
    browsers.assert_clean(expected_console_errors=("422",))


def test_without_javascript_too(server, browsers: BrowserSession):
    visitor = browsers.new_page(server.url, java_script_enabled=False)
    visitor.goto("/")
    visitor.fill("#display_name", unique("Plain"))
    visitor.click("form[action='/chat/start'] button[type=submit]")
    visitor.click("#email-box a")  # the offer is a page with the form
    visitor.fill("#email", "plain@localhost")
    visitor.click("#email-box button[type=submit]")
    expect(visitor.locator("#email-error")).to_contain_text(REFUSED)
    expect(visitor.locator("#email")).to_have_value("plain@localhost")
    visitor.fill("#email", "plain@example.com")
    visitor.click("#email-box button[type=submit]")
    expect(visitor.locator("#email-box .email-saved")).to_contain_text("plain@example.com")
    assert visitor.url.rstrip("/") == server.url.rstrip("/")
    browsers.assert_clean(expected_console_errors=("422",))
