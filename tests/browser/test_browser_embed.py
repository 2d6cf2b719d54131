"""The embeddable widget in a real browser (Debian's Chromium), with two different sites on loopback: a host site
served by http.server on `localhost:P1` (a strict CSP that lets in only Sohbet's script and frame) and Sohbet on
`127.0.0.1:P2`. Chromium counts loopback as secure, so the iframe's `SameSite=None; Secure; Partitioned` cookies
work over plain http here (checked below); a Sohbet reached over http on another host name gets no cookie in
the iframe, which is the new-window fallback's test."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser import TIMEOUT_MS, BrowserSession
from tests.browser.embed_host import (
    GREETING,
    LABEL,
    SHADOW,
    HostSite,
    chat_frame,
    embedding_server,
    host_page,
    launcher,
    panel,
    settle,
    unique,
)
from tests.support import Browser, Server, find_thread, login_admin, wait_until

pytestmark = pytest.mark.browser
T = TypeVar("T")

# -- fixtures (the host site: conftest.py) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def stranger_site() -> Iterator[HostSite]:
    """Another site with the snippet, not in EMBED_ORIGINS."""
    site = HostSite("").start()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def sohbet(make_server: Callable[..., Server], host_site: HostSite, stranger_site: HostSite) -> Server:
    # sohbet.test: the second name the cookie-fallback test reaches this server by (ALLOWED_HOSTS refuses others).
    return embedding_server(
        make_server, "embed-browser", host_site, stranger_site, ALLOWED_HOSTS="127.0.0.1,localhost,sohbet.test"
    )


def outside_playwright(function: Callable[..., T], *args: Any) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


# -- helpers ---------------------------------------------------------------------------------------------------


def focus_path(page: Page) -> list[str]:
    """Where focus is on the host page: the element, then inside the widget's shadow root."""
    return page.evaluate(
        """() => {
            const host = document.querySelector('sohbet-chat');
            const inner = host && host.shadowRoot.activeElement;
            return [document.activeElement.tagName.toLowerCase(),
                    inner ? inner.tagName.toLowerCase() + (inner.className ? '.' + inner.className : '') : ''];
        }"""
    )


def admin_reply(admin: Browser, name: str, text: str) -> None:
    thread = find_thread(admin, name)
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": text}).status_code == 303


def badge(page: Page) -> str:
    """The unread count the launcher shows ('' when none)."""
    return page.evaluate(f"(n => n.hidden ? '' : n.textContent)({SHADOW}.querySelector('.n'))")


# -- 1. before the first click ---------------------------------------------------------------------------------


def test_launcher_alone_before_the_first_click(sohbet, host_site, browsers):
    page = host_page(browsers, host_site.url)
    requests: list[Request] = []
    finished: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    page.on("requestfinished", lambda r: finished.append(r))
    page.goto("/page1", wait_until="networkidle")

    button = launcher(page)
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-label", LABEL)
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(page.locator("sohbet-chat .g")).to_have_text(GREETING)
    expect(page.locator("a[data-sohbet]")).to_have_count(0)  # the link became the launcher
    expect(panel(page)).to_be_hidden()
    # Nothing styled inline on the host page: the look lives in the shadow root's constructed stylesheet.
    assert page.evaluate("document.querySelectorAll('[style], style').length") == 0
    assert page.evaluate(f"{SHADOW}.adoptedStyleSheets.length") == 1
    assert page.evaluate("getComputedStyle(document.querySelector('sohbet-chat')).position") == "fixed"
    assert page.evaluate(f"getComputedStyle({SHADOW}.querySelector('.b')).backgroundColor") == "rgb(122, 31, 162)"
    box = button.bounding_box()
    viewport = page.viewport_size
    assert box and viewport and box["x"] > viewport["width"] / 2 and box["y"] > viewport["height"] / 2  # bottom right

    page.wait_for_timeout(500)  # anything lazy would have started by now
    urls = [r.url for r in requests]
    sohbet_urls = [u for u in urls if u.startswith(sohbet.url)]
    assert len(sohbet_urls) == 2, urls
    assert sohbet_urls[0] == sohbet.url + "/embed.js"
    assert re.fullmatch(re.escape(sohbet.url) + r"/embed/[0-9a-f]{12}/embed\.js", sohbet_urls[1])
    assert [u for u in urls if not u.startswith(sohbet.url)] == [host_site.url + "/page1"], urls

    # Weight before the first click, as Chromium transferred it (headers + compressed bodies), by type.
    weight: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for request in finished:
        sizes = request.sizes()
        kind = "widget " + request.resource_type if request.url.startswith(sohbet.url) else "host document"
        weight[kind][0] += 1
        weight[kind][1] += sizes["responseBodySize"]
        weight[kind][2] += sizes["responseHeadersSize"]
    widget_body = sum(v[1] for k, v in weight.items() if k.startswith("widget"))
    widget_headers = sum(v[2] for k, v in weight.items() if k.startswith("widget"))
    print("\nhost page weight before the first click (Chromium):")
    for kind, (count, body, headers) in sorted(weight.items()):
        print(f"  {kind:<16} {count} request(s)  body {body:>6} B  headers {headers:>5} B")
    print(f"  widget total: {widget_body} B of bodies (compressed) + {widget_headers} B of headers")
    assert widget_body <= 3 * 1024
    browsers.assert_clean()


# -- 2. the whole visit ----------------------------------------------------------------------------------------


def test_panel_conversation_badge_escape_and_memory(sohbet, host_site, browsers):
    admin = outside_playwright(login_admin, sohbet)
    page = host_page(browsers, host_site.url)
    embed_loads: list[str] = []
    page.on("request", lambda r: embed_loads.append(r.url) if "/embed?" in r.url else None)
    page.goto("/page1?forger=1")
    button = launcher(page)
    button.click()

    # Open: the panel, its iframe with the host page as context, focus inside (then in the name field).
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(panel(page)).to_be_visible()
    expect(page.locator("sohbet-chat .g")).to_have_count(0)  # the greeting goes once opened
    frame = chat_frame(page, sohbet)
    assert embed_loads and "origin=" + quote(host_site.url, safe="") in embed_loads[0]
    assert "url=" + quote(host_site.url + "/page1?forger=1", safe="") in embed_loads[0]
    page.wait_for_function(f"() => {SHADOW}.activeElement?.tagName === 'IFRAME'")
    frame.wait_for_function("() => document.activeElement?.id === 'display_name'")
    assert focus_path(page) == ["sohbet-chat", "iframe"]

    # A conversation, live both ways.
    name = unique("Widget")
    frame.locator("#display_name").fill(name)
    frame.locator("#display_name").press("Enter")
    expect(frame.locator("html.js #composer-text")).to_be_visible()  # Enter sends once app.js runs
    frame.locator("#composer-text").fill("Hello from the shop")
    frame.locator("#composer-text").press("Enter")
    expect(frame.locator("#messages article[data-sender=visitor] .msg-text")).to_have_text(["Hello from the shop"])
    outside_playwright(admin_reply, admin, name, "Hi, how can I help?")
    expect(frame.locator("#messages article[data-sender=admin] .msg-text")).to_have_text(["Hi, how can I help?"])
    assert badge(page) == ""  # open: no badge
    thread_page = outside_playwright(lambda: admin.get(f"/admin/threads/{find_thread(admin, name)}").text)
    assert f'href="{host_site.url}/page1?forger=1"' in thread_page  # the visitor context, for the admin

    # Escape inside the chat closes the panel; focus returns to the launcher.
    frame.locator("#composer-text").press("Escape")
    expect(panel(page)).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    page.wait_for_function(f"() => {SHADOW}.activeElement?.classList.contains('b')")
    assert focus_path(page) == ["sohbet-chat", "button.b"]

    # Replies while closed: the badge counts them, a sound plays, the host hears `sohbet:unread`.
    outside_playwright(admin_reply, admin, name, "Are you still there?")
    expect(page.locator("sohbet-chat .n")).to_have_text("1")
    # No agent has a dashboard open: the loaded chat told the launcher support is away (SPEC §9).
    expect(button).to_have_attribute("aria-label", f"{LABEL} (away) (1 unread)")
    assert page.evaluate("document.querySelector('sohbet-chat').classList.contains('a')")
    outside_playwright(admin_reply, admin, name, "Your order shipped.")
    expect(page.locator("sohbet-chat .n")).to_have_text("2")
    assert page.evaluate("window.__unread") == [1, 2]
    wait_until(lambda: frame.evaluate("window.__played") == 2, message="two notification sounds")
    expect(frame.locator("#messages article[data-sender=admin]")).to_have_count(3)  # still live while hidden

    # Forged messages are ignored: from the host page itself, and from a frame of another origin.
    page.evaluate("window.postMessage({sohbet: 1, t: 'msg'}, '*')")
    forger = next(f for f in page.frames if f.url == host_site.other_origin + "/forger")
    forger.evaluate("parent.postMessage({sohbet: 1, t: 'msg'}, '*')")
    forger.evaluate("parent.postMessage({sohbet: 1, t: 'close'}, '*')")
    # ...and the chat frame answers no stranger: a hello from another origin gets no reply.
    frame.evaluate(
        """() => window.dispatchEvent(new MessageEvent('message', {
            data: {sohbet: 1, t: 'hello'}, origin: 'https://evil.example', source: window.parent}))"""
    )
    page.wait_for_timeout(500)
    assert badge(page) == "2" and page.evaluate("window.__unread") == [1, 2]

    # Reopen: the badge clears and the replies are there.
    button.click()
    expect(panel(page)).to_be_visible()
    assert badge(page) == ""
    expect(button).to_have_attribute("aria-label", f"{LABEL} (away)")

    # Remembered across the host site's pages: open stays open (same conversation, cookie kept in the partition).
    page.click("#next")
    expect(page).to_have_url(re.compile(r"/page2"))
    expect(panel(page)).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    frame = chat_frame(page, sohbet)
    expect(frame.locator("#messages article .msg-text")).to_have_text(
        ["Hello from the shop", "Hi, how can I help?", "Are you still there?", "Your order shipped."]
    )
    # Escape on the host side (focus on the close button) closes too.
    page.locator("sohbet-chat button.x").focus()
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert focus_path(page) == ["sohbet-chat", "button.b"]

    # Closed stays closed on the next page; the conversation loads in the background so the badge still works.
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/chat/events" in r.url else None)
    page.click("#next")
    expect(page).to_have_url(re.compile(r"/page1"))
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    expect(panel(page)).to_be_hidden()
    frame = chat_frame(page, sohbet)
    expect(frame.locator("#chat[sse-connect]")).to_be_attached()
    settle(page, lambda: streams, "the background chat's stream")
    page.wait_for_timeout(300)
    outside_playwright(admin_reply, admin, name, "One more thing")
    expect(page.locator("sohbet-chat .n")).to_have_text("1")
    admin.close()
    browsers.assert_clean()


# -- 3. sites that may not frame the chat ------------------------------------------------------------------------


def refused_problems(browsers: BrowserSession) -> list[str]:
    """Every problem the session saw, less the refusals these tests cause on purpose."""
    expected = (
        r"frame-ancestors",
        r"Failed to load resource: the server responded with a status of 403",
        r"frame-src",
    )
    return [p for p in browsers.problems() if not any(re.search(e, p) for e in expected)]


def test_a_site_not_in_embed_origins_cannot_frame_the_chat(sohbet, stranger_site, browsers):
    page = host_page(browsers, stranger_site.url)
    statuses: dict[str, int] = {}
    page.on("response", lambda r: statuses.setdefault(r.url.split("?")[0], r.status) if "/embed?" in r.url else None)
    page.goto("/page1")
    launcher(page).click()
    expect(panel(page)).to_be_visible()
    # The server refuses to render for that origin, and the browser refuses to show the frame anyway.
    assert settle(page, lambda: statuses.get(sohbet.url + "/embed"), "the /embed answer") == 403
    page.wait_for_timeout(500)
    assert not [f for f in page.frames if f.url.startswith(sohbet.url)], [f.url for f in page.frames]
    # The launcher sees no chat answering and offers the plain link instead (a new window).
    fallback = page.locator("sohbet-chat a.o")
    expect(fallback).to_be_visible(timeout=TIMEOUT_MS)
    expect(fallback).to_have_attribute("href", re.compile("^" + re.escape(sohbet.url + "/?src=embed&")))
    expect(fallback).to_have_attribute("target", "_blank")

    # A plain iframe of /embed: the server knows the embedder from the Referer (Sec-Fetch-Dest: iframe) and
    # refuses; without a Referer it cannot know and renders, and frame-ancestors, the real guard, hides it.
    for query, status in (("", 403), ("?noref=1", 200)):
        direct = host_page(browsers, stranger_site.url)
        with direct.expect_response(lambda r: r.url == sohbet.url + "/embed") as answer:
            direct.goto("/direct" + query)
        response = answer.value
        assert response.status == status, query
        assert stranger_site.url not in response.headers["content-security-policy"]
        direct.wait_for_timeout(500)
        assert not [f for f in direct.frames if f.url.startswith(sohbet.url)], query  # never shown
    assert any("frame-ancestors" in p for p in browsers.problems())
    browsers.checked = True
    assert not refused_problems(browsers), refused_problems(browsers)


def test_host_csp_without_frame_src_gets_the_link_at_once(sohbet, host_site, browsers):
    page = host_page(browsers, host_site.url)
    page.goto("/page1?noframe=1")
    started = time.monotonic()
    launcher(page).click()
    expect(page.locator("sohbet-chat a.o")).to_be_visible()
    assert time.monotonic() - started < 4, "the CSP refusal should show the link without waiting for a timeout"
    browsers.checked = True
    assert not refused_problems(browsers), refused_problems(browsers)


# -- 4. no cookies in the iframe: a new window -------------------------------------------------------------------


def test_cookies_refused_in_the_iframe_open_a_new_window(sohbet, host_site, browsers):
    """Sohbet over plain http on a host name that is not loopback: browsers drop `Secure` cookies, as Safari drops
    every third-party cookie. The launcher hears it from the iframe and opens the chat in its own window."""
    insecure = f"http://sohbet.test:{sohbet.port}"
    page = host_page(browsers, host_site.url)
    page.goto("/page1?s=" + quote(insecure, safe=""))
    with page.context.expect_page() as popup:
        launcher(page).click()
    window = popup.value
    window.wait_for_load_state()
    assert window.url.startswith(insecure + "/?src=embed&origin=")
    assert "url=" + quote(host_site.url + "/page1", safe="") in window.url
    expect(window.locator("#display_name")).to_be_visible()
    expect(panel(page)).to_be_hidden()  # no broken panel left behind
    # From now on a click opens the window straight away (no iframe to try first).
    with page.context.expect_page() as again:
        launcher(page).click()
    assert again.value.url.startswith(insecure + "/?src=embed&")
    expect(panel(page)).to_be_hidden()
    # Chromium says it ignores COOP on an untrustworthy (plain http, not loopback) origin: expected here.
    browsers.assert_clean(expected_console_errors=(r"Cross-Origin-Opener-Policy header has been ignored",))


# -- 5. JavaScript off on the host ----------------------------------------------------------------------------------


def test_javascript_off_leaves_a_working_link(sohbet, host_site, browsers):
    page = host_page(browsers, host_site.url, java_script_enabled=False)
    page.goto("/page1")
    link = page.locator("a[data-sohbet]")
    expect(link).to_have_text(LABEL)
    expect(link).to_have_attribute("href", sohbet.url + "/?src=embed")
    assert page.locator("sohbet-chat").count() == 0
    link.click()
    expect(page).to_have_url(sohbet.url + "/?src=embed")
    expect(page.locator("#display_name")).to_be_visible()
    # The Referer (the host's origin) is the visitor context of the conversation that starts here.
    expect(page.locator("input[name=source_url]")).to_have_value(host_site.url + "/")
    name = unique("NoJS widget")
    page.fill("#display_name", name)
    page.click("form[action='/chat/start'] button[type=submit]")
    expect(page.locator("#composer-text")).to_be_visible()
    browsers.assert_clean()
