"""The widget's look on a host site (issue 13): on a phone the launcher never covers the open panel's controls, the
iframe is not sandboxed (allow-scripts with allow-same-origin protects nothing and Chromium warns), the panel says
"Chat with us" once and holds no card, "End chat" stays on one line, and the demo page shows its snippet."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser import BrowserSession
from tests.browser.embed_host import (
    LABEL,
    SHADOW,
    HostSite,
    chat_frame,
    embedding_server,
    host_page,
    launcher,
    panel,
    unique,
)
from tests.support import Server

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def sohbet(make_server: Callable[..., Server], host_site: HostSite) -> Server:
    return embedding_server(make_server, "widget-look", host_site)


def overlaps(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    if not a or not b:
        return False
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def open_chat(page: Page, sohbet: Server, name: str):
    launcher(page).click()
    expect(panel(page)).to_be_visible()
    frame = chat_frame(page, sohbet)
    frame.locator("#display_name").fill(name)
    frame.locator("#display_name").press("Enter")
    expect(frame.locator("#composer-text")).to_be_visible()
    return frame


def test_on_a_phone_the_launcher_leaves_the_open_panel_alone(sohbet, host_site, browsers: BrowserSession):
    page = host_page(browsers, host_site.url, viewport=PHONE)
    page.goto("/page1")
    expect(launcher(page)).to_be_visible()
    frame = open_chat(page, sohbet, unique("Phone"))
    send = frame.locator("#composer button[type=submit]")
    text = frame.locator("#composer-text")
    expect(send).to_be_visible()
    button = launcher(page).bounding_box()  # None once hidden
    # The controls, and the composer around them (its free corner is where a thumb aims for Send).
    for control in (send, text, frame.locator("#composer label[for=composer-file]"), frame.locator("#composer")):
        box = control.bounding_box()
        assert box and box["y"] + box["height"] <= PHONE["height"], "the control is off screen"
        assert not overlaps(button, box), (button, box)
    # Whatever covers the send button's middle is the send button itself (in the frame), not the launcher.
    box = send.bounding_box()
    assert box
    on_top = page.evaluate(
        f"([x, y]) => {SHADOW}.elementFromPoint(x, y)?.tagName", [box["x"] + box["width"] / 2, box["y"] + 5]
    )
    assert on_top == "IFRAME", on_top
    # The panel's own close button brings the launcher back, with focus on it.
    page.locator("sohbet-chat button.x").click()
    expect(panel(page)).to_be_hidden()
    expect(launcher(page)).to_be_visible()
    page.wait_for_function(f"() => {SHADOW}.activeElement?.classList.contains('b')")
    browsers.assert_clean()


def test_the_panel_is_not_sandboxed_and_looks_like_one_chat(sohbet, host_site, browsers: BrowserSession):
    page = host_page(browsers, host_site.url)
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    page.goto("/page1")
    frame = open_chat(page, sohbet, unique("Look"))
    assert page.evaluate(f"{SHADOW}.querySelector('iframe').hasAttribute('sandbox')") is False
    assert not [w for w in warnings if "sandbox" in w.lower()], warnings
    # The cookie works in the unsandboxed frame: a message goes and stays after the panel reloads.
    frame.locator("html.js #composer-text").fill("sandbox-free")  # Enter sends once app.js runs
    frame.locator("#composer-text").press("Enter")
    expect(frame.locator("#messages article[data-sender=visitor] .msg-text")).to_have_text(["sandbox-free"])

    # "Chat with us" is said once: by the panel's header; the page's heading is for screen readers only.
    expect(page.locator("sohbet-chat #p .h")).to_contain_text(LABEL)
    heading = frame.locator("#chat h1").bounding_box()
    assert heading and heading["width"] <= 1 and heading["height"] <= 1, heading
    # No card inside the panel: the chat runs edge to edge on one surface.
    look = frame.evaluate(
        """() => {
            const chat = getComputedStyle(document.querySelector('#chat'));
            const body = getComputedStyle(document.body);
            return [chat.borderLeftWidth, chat.backgroundColor === body.backgroundColor];
        }"""
    )
    assert look == ["0px", True], look
    # "End chat" on one line, its header one row.
    end = frame.locator(".chat-head button[type=submit]")
    assert end.evaluate("b => b.scrollWidth <= b.clientWidth && getComputedStyle(b).whiteSpace") == "nowrap"
    box, status = end.bounding_box(), frame.locator("#support-status").bounding_box()
    assert box and status and box["height"] < 44 and box["x"] > status["x"], (box, status)
    browsers.assert_clean()


def test_the_start_form_in_the_panel_is_no_card_and_names_the_chat_once(sohbet, host_site, browsers: BrowserSession):
    page = host_page(browsers, host_site.url)
    page.goto("/page1")
    launcher(page).click()
    frame = chat_frame(page, sohbet)
    expect(frame.locator("#display_name")).to_be_visible()
    heading = frame.locator(".start h1").bounding_box()
    assert heading and heading["width"] <= 1, heading
    start = frame.evaluate(
        """() => { const s = getComputedStyle(document.querySelector('.start'));
                   return [s.borderTopWidth, s.marginTop, s.backgroundColor]; }"""
    )
    assert start == ["0px", "0px", "rgba(0, 0, 0, 0)"], start
    browsers.assert_clean()


def test_the_demo_page_shows_the_snippet_under_its_caption(sohbet, browsers: BrowserSession):
    page = browsers.new_page(sohbet.url)
    page.goto("/embed/demo")
    code = page.locator("#demo-snippet")
    expect(code).to_be_visible()
    expect(code).to_contain_text("data-sohbet")
    expect(code).to_contain_text('<script src="/embed.js" defer></script>')
    # ...and the snippet itself became the launcher.
    expect(launcher(page)).to_be_visible()
    expect(page.locator("main a[data-sohbet]")).to_have_count(0)
    browsers.assert_clean()
