"""Two agents and a visitor in three Chromium contexts (SPEC §8 per-agent state): both agents answer and the
visitor sees each one's display name; after one resolves, the visitor writing again reopens the conversation, and
both dashboards show it, unread for each, live (no reload). The team list shows who is on a dashboard, and an
agent setting themselves away shows on the other's dashboard live; when every agent on a dashboard is away, the
visitor sees support offline, live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import assert_not_reloaded, login_admin_page, mark_page, send, start_chat_page, wait_for_thread
from tests.server.test_team import PASSWORD, accept, invite
from tests.support import Server, login_admin, wait_until

pytestmark = pytest.mark.browser


def login_agent_page(page: Page, server: Server, username: str) -> None:
    """An agent's real login through the forms (the code printed on the console, as in development)."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    before = len(server.login_codes())
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("#code")).to_be_visible()
    code = wait_until(lambda: server.login_codes()[before:], message="login code on the console")[-1]
    page.fill("#code", code)
    page.click("form[action='/login/verify'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin$"))


def test_two_agents_answer_and_a_reopened_conversation_is_unread_for_both(browsers, server):
    owner = login_admin(server)
    assert owner.post("/admin/me", {"display_name": "Ali Aksoy"}).status_code == 303
    assert accept(server, invite(owner, "bea", "Bea Yılmaz")).status_code == 200

    ali = browsers.new_page(server.url)
    login_admin_page(ali, server)
    bea = browsers.new_page(server.url)
    login_agent_page(bea, server, "bea")
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, "Two Agents")
    send(visitor, "hello, anyone?")

    thread = wait_for_thread(ali, "Two Agents")
    expect(ali.locator('#team-online [data-agent="bea"]')).to_have_attribute("data-availability", "online")
    ali.goto(f"/admin/threads/{thread}")
    ali.locator("#triage summary").click()
    ali.locator("#triage select[name=agent]").select_option("admin")
    ali.locator("#triage form").nth(1).locator("button").click()
    expect(ali.locator("#triage .assignee")).to_have_attribute("data-assignee", "admin")
    send(ali, "Ali here")
    bea.goto(f"/admin/threads/{thread}")
    send(bea, "Bea here too")
    authors = visitor.locator("#messages article[data-sender=admin] .msg-author")
    expect(authors).to_have_text(["Ali Aksoy", "Bea Yılmaz"])

    ali.locator("#triage summary").click()
    ali.locator("#triage select[name=status]").select_option("resolved")
    ali.locator("#triage form").first.locator("button").click()
    expect(ali.locator("#triage .status-chip")).to_have_attribute("data-status", "resolved")
    for page in (ali, bea):
        page.goto("/admin")
        expect(page.locator(f"#thread-{thread}")).to_have_count(0)  # resolved: out of the open view
        mark_page(page)

    send(visitor, "one more question")
    for page in (ali, bea):
        row = page.locator(f"#thread-{thread}")
        expect(row).to_have_attribute("data-status", "open")
        expect(row.locator(".badge")).to_have_text("1")
        assert_not_reloaded(page)

    bea.locator("#availability button").click()
    expect(bea.locator("#availability [data-availability]")).to_have_attribute("data-availability", "away")
    expect(ali.locator('#team-online [data-agent="bea"]')).to_have_attribute("data-availability", "away")
    assert_not_reloaded(ali)
    # Visitors see support online while an available agent has a dashboard open: Ali still is, then not.
    status = visitor.locator("#support-status")
    expect(status).to_have_class(re.compile(r"\bonline\b"))
    ali.locator("#availability button").click()
    expect(status).to_have_class(re.compile(r"\boffline\b"))
    ali.locator("#availability button").click()
    expect(status).to_have_class(re.compile(r"\bonline\b"))
    assert_not_reloaded(visitor)
    browsers.assert_clean()
