"""Presence in a real browser (SPEC §14, issue 13): the open conversation's header follows the visitor leaving and
coming back live, as the list's dot does; and an admin on any admin page, not only the dashboard, counts as support
online, with a start page whose texts agree with what it says of support."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser import assert_not_reloaded, login_admin_page, mark_page, start_chat_page, wait_for_thread
from tests.support import Browser, wait_until

pytestmark = pytest.mark.browser

ONLINE = re.compile(r"(^|\s)online(\s|$)")
WITHIN_MS = 5_000  # SPEC §14: the header's presence follows the visitor within 5 s
HEADER = ".chat-head .presence"


def test_the_headers_presence_follows_the_visitor_leaving_and_coming_back(server, browsers):
    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    visitor = browsers.new_page(server.url)
    name = f"Presence {secrets.token_hex(3)}"
    start_chat_page(visitor, name)
    thread = wait_for_thread(admin, name)
    admin.goto(f"/admin/threads/{thread}")
    mark_page(admin)
    dot = admin.locator(f"#thread-{thread} .dot")
    header = admin.locator(HEADER)
    expect(header).to_have_class(ONLINE)
    expect(dot).to_have_class(ONLINE)

    visitor.close()  # the visitor leaves: their page, and with it their stream, is gone
    expect(dot).not_to_have_class(ONLINE, timeout=WITHIN_MS)
    expect(header).not_to_have_class(ONLINE, timeout=WITHIN_MS)
    expect(header).to_contain_text("offline")

    back = visitor.context.new_page()  # the same browser comes back: its cookie reopens the conversation
    back.goto("/")
    expect(back.locator("#chat[sse-connect]")).to_be_attached()
    expect(header).to_have_class(ONLINE, timeout=WITHIN_MS)
    expect(dot).to_have_class(ONLINE)
    expect(admin.locator(HEADER)).to_have_count(1)  # swapped in place, not added
    assert_not_reloaded(admin)  # live (server-sent events), not a page load
    browsers.assert_clean()


def start_page_saying(server, words: str) -> str | None:
    """The visitor's start page, as a newcomer gets it, if it says `words`."""
    text = Browser(server.url).get("/").text
    return text if words in text else None


def test_an_admin_on_any_admin_page_counts_as_support_online(server, browsers):
    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    admin.goto("/admin/embed")  # not the dashboard
    expect(admin.locator("#snippet")).to_be_attached()
    page = wait_until(lambda: start_page_saying(server, "Support is online"), message="support online")
    assert "We usually answer within minutes" in page

    admin.context.close()
    page = wait_until(lambda: start_page_saying(server, "Support is offline"), message="support offline")
    assert "within minutes" not in page and "as soon as we are back" in page
    browsers.assert_clean()
