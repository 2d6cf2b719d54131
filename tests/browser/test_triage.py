"""The conversation header's status and assignee menu and the list's view tabs in Chromium (SPEC §8), at 390×844
and 1280×800: the menu fits the header (nothing overflows the viewport, closed or open), resolving with htmx swaps
the menu and moves the conversation out of the open view live; without JavaScript the forms post and come back
(303), and the tabs are plain links."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import login_admin_page
from tests.support import start_visitor

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def no_horizontal_overflow(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is wider than the viewport: {widths}"
    head = page.locator("#chat .chat-head").bounding_box()
    assert head is not None and head["x"] + head["width"] <= widths[1] + 0.5, head


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_menu_fits_and_resolving_updates_it_and_the_list(browsers, server, size):
    visitor = start_visitor(server.url, f"Menu {size}")
    visitor.post("/chat/messages", {"text": "hello"})
    page = browsers.new_page(server.url, viewport=VIEWPORTS[size])
    login_admin_page(page, server)
    page.goto("/admin")
    row = page.locator("#threads li.thread", has_text=f"Menu {size}")
    expect(row).to_have_attribute("data-status", "open")
    thread_id = row.get_attribute("id").removeprefix("thread-")
    page.goto(f"/admin/threads/{thread_id}")
    summary = page.locator("#triage summary")
    expect(summary).to_contain_text("Open")
    no_horizontal_overflow(page)
    summary.click()
    no_horizontal_overflow(page)
    for element in ("#triage select[name=status]", "#triage input[name=until]", "#triage select[name=agent]"):
        box = page.locator(element).bounding_box()
        assert box is not None and box["x"] + box["width"] <= VIEWPORTS[size]["width"], (element, box)
    page.locator("#triage select[name=status]").select_option("resolved")
    page.locator("#triage form").first.locator("button").click()
    expect(page.locator("#triage .status-chip")).to_have_attribute("data-status", "resolved")
    if size == "desktop":  # the list beside it refreshes (the `threads` event) and keeps its view: open only
        expect(page.locator(f"#thread-{thread_id}")).to_have_count(0)
    page.locator("#triage summary").click()
    page.locator("#triage input[name=until]").fill("someday")
    page.locator("#triage select[name=status]").select_option("snoozed")
    page.locator("#triage form").first.locator("button").click()
    expect(page.locator("#triage .error")).to_contain_text("needs a time")
    browsers.assert_clean(expected_console_errors=("422",))


def test_without_javascript_the_forms_and_tabs_work(browsers, server):
    visitor = start_visitor(server.url, "NoScript")
    visitor.post("/chat/messages", {"text": "hello"})
    page = browsers.new_page(server.url, viewport=VIEWPORTS["phone"], java_script_enabled=False)
    login_admin_page(page, server)
    page.goto("/admin")
    row = page.locator("#threads li.thread", has_text="NoScript")
    thread_id = row.get_attribute("id").removeprefix("thread-")
    page.goto(f"/admin/threads/{thread_id}")
    page.locator("#triage summary").click()
    page.locator("#triage select[name=agent]").select_option("admin")
    page.locator("#triage form").nth(1).locator("button").click()
    expect(page).to_have_url(f"{server.url}/admin/threads/{thread_id}")
    expect(page.locator("#triage .assignee")).to_have_attribute("data-assignee", "admin")
    page.goto("/admin")
    page.get_by_role("link", name="Mine").click()
    expect(page).to_have_url(f"{server.url}/admin?view=mine&status=open")
    expect(page.locator(f"#thread-{thread_id}")).to_have_attribute("data-assignee", "admin")
    expect(page.get_by_role("link", name="Mine")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Unassigned").click()
    expect(page.locator(f"#thread-{thread_id}")).to_have_count(0)
