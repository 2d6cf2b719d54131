"""The dashboard with a shop's day of chats (SPEC §14): 30 conversations of 50 messages each. At 1280×800 and at
390×844, with JavaScript and without, the panes scroll on their own — the open conversation's header, the
composer's text box and its Send button stay inside the viewport — and the conversation list is tidy: rows of one
height, the unread badge compact and on the name's line, the preview cut with an ellipsis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import Locator, Page, expect

from app.settings import Settings
from tests.browser import login_admin_page
from tests.inprocess import migrated_settings, running_services
from tests.support import Server, base_env, drop_database, run_coroutine

pytestmark = pytest.mark.browser

CONVERSATIONS = 30
MESSAGES = 50
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
OPENED = 16  # read already (16 % 3 == 1): opening it changes no badge the list test looks for
LONG = "Merhaba, siparişim üç gündür kargoda görünüyor, ne zaman teslim edilir acaba? " * 3


async def seed(settings: Settings) -> list[int]:
    """The conversations, oldest first, written through the app's own services before the server starts (1,500
    posts over HTTP would take minutes on a busy machine). Every other message is the visitor's; a third of the
    conversations are read up to message 40 (badge 4), a third read to the end (no badge), a third unread (25)."""
    ids = []
    async with running_services(settings) as services:
        for i in range(CONVERSATIONS):
            name = f"Visitor {i:02d}" + (" from a shop with a long name, Istanbul" if i % 4 == 0 else "")  # ≤ 50
            thread, _token = await services.conversations.start(name, "en")
            for j in range(MESSAGES):
                sender = "visitor" if j % 2 == 0 else "admin"
                text = LONG if (j == MESSAGES - 1 and i % 2 == 0) else f"message {j} of conversation {i}"
                await services.messaging.send(thread.id, sender, text)
                if (i % 3 == 0 and j == 40) or (i % 3 == 1 and j == MESSAGES - 1):
                    await services.conversations.mark_read(thread.id)
            ids.append(thread.id)
    return ids


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, list[int]]]:
    """A server on a database that already holds the conversations (ids oldest first)."""
    tmp: Path = tmp_path_factory.mktemp("crowded")
    key = Fernet.generate_key().decode()
    settings = migrated_settings(tmp, ENCRYPTION_KEYS=key)
    server = Server(env={**base_env(tmp, settings.database_url), "ENCRYPTION_KEYS": key}, log_dir=tmp, name="crowded")
    try:
        ids = run_coroutine(lambda: seed(settings))
        yield server.start(), ids
    finally:
        server.stop()
        drop_database(settings.database_url)


@pytest.fixture(scope="module")
def admin_state(chromium_browser: PlaywrightBrowser, crowded: tuple[Server, list[int]]) -> dict[str, Any]:
    """The admin's cookies after one real login, for every page of this module (with JavaScript or without)."""
    server, _ = crowded
    context = chromium_browser.new_context(base_url=server.url, locale="en-US")
    try:
        login_admin_page(context.new_page(), server)
        return context.storage_state()
    finally:
        context.close()


def dashboard(browsers, crowded, admin_state, viewport: dict[str, int], *, javascript: bool = True) -> Page:
    server, _ = crowded
    return browsers.new_page(server.url, viewport=viewport, storage_state=admin_state, java_script_enabled=javascript)


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def assert_in_viewport(page: Page, selector: str) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    b = box(page.locator(selector))
    inside = (
        b["x"] >= -0.5
        and b["y"] >= -0.5
        and b["x"] + b["width"] <= viewport["width"] + 0.5
        and b["y"] + b["height"] <= viewport["height"] + 0.5
    )
    assert inside, f"{selector} at {b} is not inside the {viewport['width']}×{viewport['height']} viewport"


def scroll_window_to_end(page: Page) -> None:
    """What a wheel over the page would do if the page, not a pane, were the scroller."""
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")


CONVERSATION_IN_VIEW = ("#chat .chat-head", "#chat h1", "#composer-text", "#composer button[type=submit]")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_open_conversations_header_and_composer_stay_in_view(browsers, crowded, admin_state, size, javascript):
    _, ids = crowded
    page = dashboard(browsers, crowded, admin_state, VIEWPORTS[size], javascript=javascript)
    page.goto(f"/admin/threads/{ids[OPENED]}")
    expect(page.locator("#messages article")).not_to_have_count(0)
    for selector in CONVERSATION_IN_VIEW:
        assert_in_viewport(page, selector)
    # The messages scroll inside their own pane (the page itself does not move)...
    messages = page.locator("#messages")
    assert messages.evaluate("m => m.scrollHeight > m.clientHeight + 50"), "the messages pane does not scroll"
    scroll_window_to_end(page)
    for selector in CONVERSATION_IN_VIEW:
        assert_in_viewport(page, selector)
    assert page.evaluate("window.scrollY") == 0, "the whole page scrolls"
    if javascript:  # ...and start at the newest one (app.js scrolls the pane down)
        assert_in_viewport(page, "#messages article:last-child")
    if size == "desktop":
        # The list beside it scrolls on its own too: its last row is reachable without moving the conversation.
        page.locator(".threads-pane").evaluate("pane => { pane.scrollTop = pane.scrollHeight; }")
        last = box(page.locator("#threads li.thread").last)
        assert 0 <= last["y"] and last["y"] + last["height"] <= VIEWPORTS[size]["height"], f"last row at {last}"
        for selector in CONVERSATION_IN_VIEW:
            assert_in_viewport(page, selector)
    if javascript:
        browsers.assert_clean()


ROW_PROBE = """
li => {
  const rect = el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left,
    right: r.right, height: r.height, width: r.width}; };
  const part = sel => li.querySelector(sel);
  const badge = part('.badge');
  let number = null;
  if (badge) { const range = document.createRange(); range.selectNodeContents(badge); number = rect(range); }
  const preview = part('.preview');
  const style = getComputedStyle(preview);
  return {
    row: rect(part('a')), name: rect(part('.name')), time: rect(part('time')), preview: rect(preview),
    badge: badge ? rect(badge) : null, digits: badge ? badge.textContent.trim().length : 0, number,
    previewStyle: [style.display, style.overflowX, style.textOverflow, style.whiteSpace],
    previewCut: preview.scrollWidth > preview.clientWidth,
  };
}
"""


def centre(r: dict[str, float], axis: str) -> float:
    return (r["top"] + r["bottom"]) / 2 if axis == "y" else (r["left"] + r["right"]) / 2


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_conversation_list_has_even_one_line_rows_and_a_compact_badge(browsers, crowded, admin_state, size):
    page = dashboard(browsers, crowded, admin_state, VIEWPORTS[size])
    page.goto("/admin")
    rows = page.locator("#threads li.thread")
    expect(rows.first).to_be_visible()
    # All rows in one synchronous script: the list may be swapped by its refresh (htmx) between two calls, and
    # eval_on_selector_all is two (it finds the rows, then maps them), so a detached row could measure as nothing.
    probes = page.evaluate(
        f"() => Array.from(document.querySelectorAll('#threads li.thread')).map({ROW_PROBE.strip()})"
    )
    assert len(probes) >= 20

    heights = sorted(p["row"]["height"] for p in probes)
    assert heights[-1] - heights[0] < 0.5, f"rows of uneven heights: {heights[0]}..{heights[-1]} px"

    badges = [p for p in probes if p["badge"]]
    assert {p["digits"] for p in badges} == {1, 2}  # badges "4" and "25"
    for p in probes:
        name, time = p["name"], p["time"]
        assert abs(centre(time, "y") - centre(name, "y")) < 3, f"the time is not on the name's line: {p}"
        assert p["preview"]["top"] >= name["bottom"] - 1, f"the preview is not under the name: {p}"
        assert p["previewStyle"] == ["block", "hidden", "ellipsis", "nowrap"], p["previewStyle"]
        if badge := p["badge"]:
            assert abs(centre(badge, "y") - centre(name, "y")) < 3, f"the badge is not on the name's line: {p}"
            assert badge["height"] <= name["height"] + 0.5, f"the badge is taller than the name's line: {p}"
            if p["digits"] == 1:
                assert abs(badge["width"] - badge["height"]) < 1, f"a one-digit badge is not round: {badge}"
            else:
                assert badge["width"] <= 1.6 * badge["height"], f"a two-digit badge is a wide pill: {badge}"
            for axis in ("x", "y"):
                off = centre(p["number"], axis) - centre(badge, axis)
                assert abs(off) < 1.5, f"the badge's number is off-centre ({axis} by {off:.1f} px): {p}"
    # A long last message is cut with an ellipsis, not wrapped (the style above makes the cut an ellipsis).
    assert any(p["previewCut"] for p in probes), "no preview long enough to be cut"

    # The list scrolls in its own pane: the bar above it stays.
    scroll_window_to_end(page)
    assert page.evaluate("window.scrollY") == 0, "the whole page scrolls"
    assert_in_viewport(page, ".admin-bar")
    browsers.assert_clean()
