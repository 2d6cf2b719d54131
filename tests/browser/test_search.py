"""Search from the admin bar (SPEC §10): typing in the bar's box shows the results under it (htmx), a result opens
the conversation; Enter (or no JavaScript) opens the search page with the same results."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import login_admin_page
from tests.support import find_thread, login_admin, start_visitor

pytestmark = pytest.mark.browser


def test_the_bar_box_finds_a_conversation_as_the_agent_types(browsers, server):
    owner = login_admin(server)
    visitor = start_visitor(server.url, "Selin")
    visitor.post("/chat/messages", {"text": "Sipariş İstanbul şubesine gelmedi"})
    thread = find_thread(owner, "Selin")

    page = browsers.new_page(server.url)
    login_admin_page(page, server)
    page.goto("/admin")
    page.locator("#bar-q").press_sequentially("istanbul subesi")
    expect(page.locator("#bar-search-results .search-count")).to_contain_text(": 0")  # "subesi" is not "şubesine"
    page.locator("#bar-q").fill("")
    expect(page.locator("#bar-search-results")).to_be_hidden()
    page.locator("#bar-q").press_sequentially("ISTANBUL")
    hit = page.locator(f'#bar-search-results .search-hit[data-thread="{thread}"]')
    expect(hit).to_be_visible()
    expect(hit.locator("mark")).to_have_text("İstanbul")
    hit.locator("a").click()
    expect(page).to_have_url(f"{server.url}/admin/threads/{thread}")

    page.locator("#bar-q").fill("sipariş")
    page.locator("#bar-q").press("Enter")
    expect(page).to_have_url(f"{server.url}/admin/search?q=sipari%C5%9F")
    expect(page.locator(f'#search-results .search-hit[data-thread="{thread}"]')).to_be_visible()
