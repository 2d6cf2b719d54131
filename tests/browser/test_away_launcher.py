"""The widget's launcher shows the away state on the host page before its chat is loaded (SPEC §9): outside the
business hours — read by embed.js on the zone's wall clock in a real Chromium — the button is greyed and says
"(away)"; with hours open all week it does not. The chat, once open, offers "leave a message" (HIDE_WHEN_AWAY)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.embed_host import LABEL, HostSite, chat_frame, embedding_server, host_page, launcher
from tests.support import Server, login_admin

pytestmark = pytest.mark.browser
FILTER = "getComputedStyle(document.querySelector('sohbet-chat').shadowRoot.querySelector('.b')).filter"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def test_the_launcher_shows_away_outside_business_hours(
    make_server: Callable[..., Server], host_site: HostSite, browsers
):
    tokyo_today = (datetime.now(UTC) + timedelta(hours=9)).weekday()
    closed = f"{DAYS[(tokyo_today + 3) % 7]} 09:00-18:00"  # open only on another day, in Tokyo's calendar
    sohbet = embedding_server(
        make_server, "away-launcher", host_site, BUSINESS_HOURS=closed, TIMEZONE="Asia/Tokyo", HIDE_WHEN_AWAY="on"
    )
    page = host_page(browsers, host_site.url)
    page.goto("/page1", wait_until="networkidle")
    expect(launcher(page)).to_have_attribute("aria-label", f"{LABEL} (away)")
    assert page.evaluate(FILTER) == "grayscale(1)"
    launcher(page).click()
    frame = chat_frame(page, sohbet)
    expect(frame.locator("form[action='/chat/leave?embed=1'] textarea[name=text]")).to_be_visible()

    owner = login_admin(sohbet)
    fields = {"hours_form": "1", "business_hours": "Mon-Sun 00:00-24:00", "timezone": "Asia/Tokyo"}
    assert owner.post("/admin/settings", fields).status_code == 303
    fresh = host_page(browsers, host_site.url)
    fresh.goto("/page1", wait_until="networkidle")
    expect(launcher(fresh)).to_have_attribute("aria-label", LABEL)  # open all week: not away before loading
    assert fresh.evaluate(FILTER) == "none"
    browsers.assert_clean()
