"""Canned replies in the agent's composer (SPEC §10): `/gr` typed offers the matching reply (htmx), choosing it
fills the message box, and the visitor receives it with their name in place of `{name}`."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import login_admin_page, message_texts
from tests.support import find_thread, login_admin, start_visitor

pytestmark = pytest.mark.browser


def test_a_suggested_canned_reply_is_sent_with_the_visitor_name(browsers, server):
    owner = login_admin(server)
    assert (
        owner.post("/admin/canned", {"shortcut": "greet", "text": "Hello {name}, how can we help?"}).status_code == 303
    )
    visitor = start_visitor(server.url, "Deniz")
    visitor.post("/chat/messages", {"text": "hi"})
    thread = find_thread(owner, "Deniz")

    page = browsers.new_page(server.url)
    login_admin_page(page, server)
    page.goto(f"/admin/threads/{thread}")
    page.locator("#composer-text").press_sequentially("/gr")
    page.locator('#canned-suggestions [data-shortcut="greet"]').click()
    expect(page.locator("#composer-text")).to_have_value("Hello {name}, how can we help?")
    expect(page.locator("#canned-suggestions button")).to_have_count(0)
    page.click("#composer button[type=submit]")
    expect(page.locator("#composer-text")).to_have_value("")
    expect(page.locator("#messages article[data-sender=admin] .msg-text").last).to_have_text(
        "Hello Deniz, how can we help?"
    )
    assert message_texts(page, "admin") == ["Hello Deniz, how can we help?"]
