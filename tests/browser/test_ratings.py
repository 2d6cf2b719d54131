"""Ratings and reports in Chromium (SPEC §10): after the agent resolves, the visitor's page (reloaded) offers the
rating; with htmx the box is swapped for the thanks in place. The reports page at phone and desktop widths: its
charts are drawn (SVG, no chart script) and nothing overflows the viewport."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import login_admin_page
from tests.support import find_thread, login_admin

pytestmark = pytest.mark.browser


def test_the_visitor_rates_in_place_with_htmx(browsers, server):
    visitor = browsers.new_page(server.url)
    visitor.goto("/")
    visitor.fill("#display_name", "Chromium Rater")
    visitor.click("form[action='/chat/start'] button[type=submit]")
    visitor.fill("#composer-text", "hello")
    visitor.press("#composer-text", "Enter")
    owner = login_admin(server)
    thread = find_thread(owner, "Chromium Rater")
    assert owner.post(f"/admin/threads/{thread}/status", {"status": "resolved"}).status_code == 303
    visitor.reload()
    box = visitor.locator("#rating-box")
    expect(box).to_contain_text("How did we do?")
    box.locator("input[name=score][value='4']").check()
    visitor.fill("#rating-comment", "Thanks a lot")
    box.locator("button[type=submit]").click()
    expect(visitor.locator("#rating-box")).to_contain_text("(4 of 5)")
    assert visitor.url.rstrip("/") == server.url.rstrip("/")  # swapped in place, no navigation


@pytest.mark.parametrize("width", [390, 1280])
def test_the_reports_page_draws_its_charts_and_fits(browsers, server, width):
    page = browsers.new_page(server.url, viewport={"width": width, "height": 844})
    login_admin_page(page, server)
    page.goto("/admin/reports")
    expect(page.locator("figure.chart svg")).to_have_count(3)
    box = page.locator("#chart-conversations svg").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    expect(page.locator("#chart-conversations rect.bar")).to_have_count(30)  # the default range: 30 days
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
