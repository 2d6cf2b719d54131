"""Real browsers (Debian's Chromium through Playwright) against a real server: live chat both ways over htmx and
server-sent events, the JavaScript-off visitor, hostile names and messages, zero CSP violations, and the
htmx-ext-sse reconnect path across a server restart."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser import (
    TIMEOUT_MS,
    Gateway,
    assert_not_reloaded,
    login_admin_page,
    mark_page,
    message_seqs,
    message_texts,
    send,
    sse_after,
    start_chat_page,
    unread_in_title,
    wait_for_thread,
)
from tests.fakes.telegram import FakeTelegram
from tests.support import Browser, login_admin, start_visitor, wait_until

pytestmark = pytest.mark.browser
T = TypeVar("T")

ONLINE = re.compile(r"(^|\s)online(\s|$)")
# What a browser logs, as console errors, while its server is away (the reconnect test only).
OUTAGE_CONSOLE_ERRORS = (
    r"^Failed to load resource: net::ERR_",
    r"^Failed to load resource: the server responded with a status of 502",
    r"^EventSource's response has a",
    r"^\[object Event\]$",  # htmx logs the EventSource error event
    # The dashboard's thread-list refresh, when a `threads` hint (sent at most every 0.25 s) left as the server
    # went down: the request fails; the next hint after the restart refreshes the list.
    r"^htmx:(sendError|afterRequest), \[object HTMLUListElement\]$",
)


def outside_playwright(function: Callable[..., T], *args: Any) -> T:
    """Run `function` in another thread: Playwright's sync API keeps an asyncio loop running on this one, and
    the database helpers (PostgreSQL) call asyncio.run()."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def expect_conversation(page: Page, expected: list[tuple[str, str]]) -> None:
    """`#messages` holds exactly these (sender, text) messages, in order, each once. Waits for live updates."""
    texts = [text for _, text in expected]
    expect(page.locator("#messages article .msg-text")).to_have_text(texts)
    for sender in {sender for sender, _ in expected}:
        mine = [text for who, text in expected if who == sender]
        expect(page.locator(f"#messages article[data-sender={sender}] .msg-text")).to_have_text(mine)
    assert message_texts(page) == texts  # textContent, no whitespace normalisation
    seqs = message_seqs(page)
    assert seqs == sorted(set(seqs)), f"sequence numbers out of order or repeated: {seqs}"


def thread_id_by_http(admin: Browser, name: str) -> int:
    page = admin.get("/admin").text
    for match in re.finditer(r'<li id="thread-(\d+)".*?<span class="name">(.*?)</span>', page, re.S):
        if match.group(2) == name:
            return int(match.group(1))
    raise AssertionError(f"no thread named {name}")


# -- 1. live both ways ---------------------------------------------------------------------------------------


def test_visitor_and_admin_chat_live_both_ways(server, browsers):
    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    mark_page(admin)
    unread_before = unread_in_title(admin)

    visitor = browsers.new_page(server.url)
    name = unique("Zeynep")
    start_chat_page(visitor, name)
    expect(visitor.locator("#support-status")).to_have_class(ONLINE)  # the admin's stream is open
    # htmx's CSP-safe settings (set by app.js in the bundle, before htmx starts) are in force on both pages.
    for page in (visitor, admin):
        settings = (
            "['allowEval', 'includeIndicatorStyles', 'allowScriptTags', 'selfRequestsOnly'].map(k => htmx.config[k])"
        )
        assert page.evaluate(settings) == [False, False, False, True]
        assert page.evaluate("document.querySelectorAll('style').length") == 0  # no injected indicator styles

    first = "Merhaba, siparişim nerede?"
    send(visitor, first, enter=True)
    expect_conversation(visitor, [("visitor", first)])

    # The admin, on /admin with no conversation open, sees it arrive without reloading, unread count in the title.
    thread = wait_for_thread(admin, name)
    item = admin.locator(f"#thread-{thread}")
    expect(item.locator(".badge")).to_have_text("1")
    expect(item.locator(".preview")).to_have_text(first)
    expect(admin).to_have_title(f"({unread_before + 1}) Sohbet")
    order = "Sipariş no: 1234"
    send(visitor, order)
    expect(item.locator(".badge")).to_have_text("2")
    expect(item.locator(".preview")).to_have_text(order)
    expect(admin).to_have_title(f"({unread_before + 2}) Sohbet")
    expect(admin.locator("#threads li").first).to_have_id(f"thread-{thread}")  # newest activity first
    assert_not_reloaded(admin)

    # Open it: the messages are there once each; opening marks them read.
    item.locator("a").click()
    expect(admin).to_have_url(re.compile(rf"/admin/threads/{thread}$"))
    expect(admin.locator("#chat h1")).to_have_text(name)
    expect_conversation(admin, [("visitor", first), ("visitor", order)])
    expect(admin).to_have_title("Sohbet" if unread_before == 0 else f"({unread_before}) Sohbet")
    expect(admin.locator(f"#thread-{thread} .badge")).to_have_count(0)
    mark_page(admin)

    reply = "Kargoda, yarın gelir."
    send(admin, reply)
    so_far = [("visitor", first), ("visitor", order), ("admin", reply)]
    expect_conversation(admin, so_far)
    expect_conversation(visitor, so_far)
    expect(visitor.locator("#messages article[data-sender=admin] .msg-author")).to_have_text("Support")

    second = "Teşekkürler!"
    send(visitor, second)
    so_far.append(("visitor", second))
    expect_conversation(visitor, so_far)
    expect_conversation(admin, so_far)
    expect(admin.locator(f"#thread-{thread} .preview")).to_have_text(second)
    expect(admin.locator(f"#thread-{thread} a")).to_have_attribute("aria-current", "page")  # still the open one

    assert_not_reloaded(admin)
    assert_not_reloaded(visitor)
    # Both streams keep their cursor in the page: a fresh EventSource would resume after the last message.
    assert sse_after(visitor, "#chat") == 4
    assert sse_after(admin, ".admin-layout") == 4
    browsers.assert_clean()


# -- 2. JavaScript off -----------------------------------------------------------------------------------------


def test_a_quick_send_on_a_fresh_composer_stays_in_the_page(server, browsers):
    """htmx binds a swapped-in form only when the swap settles; a submit before that (a quick Enter or click on
    the new composer) must still go through htmx, not reload the page. The settle delay is stretched to 1 s, so
    every send after the first lands in that window."""
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, unique("Quick"))
    visitor.evaluate("htmx.config.defaultSettleDelay = 1000")
    texts = ["one", "two", "three", "four"]
    for i, text in enumerate(texts):
        send(visitor, text, enter=i % 2 == 1)
    expect_conversation(visitor, [("visitor", text) for text in texts])
    assert_not_reloaded(visitor)
    browsers.assert_clean()


def test_visitor_without_javascript(server, browsers):
    visitor = browsers.new_page(server.url, java_script_enabled=False)
    visitor.goto("/")
    name = unique("NoJS")
    visitor.fill("#display_name", name)
    with visitor.expect_response(lambda r: r.url.endswith("/chat/start")) as started:
        visitor.click("form[action='/chat/start'] button[type=submit]")
    assert started.value.status == 303 and started.value.headers["location"] == "/"
    assert "hx-request" not in started.value.request.headers  # a plain form post, not htmx
    expect(visitor).to_have_url(server.url + "/")
    expect(visitor.locator("#composer-text")).to_be_visible()

    loaded = visitor.reload()
    assert loaded is not None
    match = re.search(r'<noscript><meta http-equiv="refresh" content="(\d+)"></noscript>', loaded.text())
    assert match and 0 < int(match.group(1)) <= 30, "the chat page must refresh itself without JavaScript"

    text = "JS kapalı, merhaba"
    visitor.fill("#composer-text", text)
    with visitor.expect_response(lambda r: r.url.endswith("/chat/messages")) as sent:
        visitor.click("#composer button[type=submit]")
    assert sent.value.status == 303 and sent.value.headers["location"] == "/"
    assert "hx-request" not in sent.value.request.headers
    expect_conversation(visitor, [("visitor", text)])

    admin = login_admin(server)
    thread = thread_id_by_http(admin, name)
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": "Cevap bir"}).status_code == 303
    visitor.reload()
    expect_conversation(visitor, [("visitor", text), ("admin", "Cevap bir")])

    # No reload from us this time: the <noscript> refresh brings the next reply.
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": "Cevap iki"}).status_code == 303
    expect(visitor.locator("#messages article[data-sender=admin] .msg-text")).to_have_text(
        ["Cevap bir", "Cevap iki"], timeout=int(match.group(1)) * 1000 + TIMEOUT_MS
    )
    expect_conversation(visitor, [("visitor", text), ("admin", "Cevap bir"), ("admin", "Cevap iki")])
    admin.close()
    browsers.assert_clean()


# -- 3. hostile input ------------------------------------------------------------------------------------------

HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">'
URL = "https://example.com/a?b=1"
BREAKOUT = 'https://example.com/x"onmouseover="window.__pwned=1'
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '<svg onload="window.__pwned=1">',
    "<img src=x onerror=window.__pwned=1>",
    "javascript:window.__pwned=1",
    URL,
    BREAKOUT,
]
HOSTILE_LIVE = [
    '<a href="javascript:window.__pwned=1">click</a><div hx-get="/admin/clear-all" hx-trigger="load">',
    "</textarea><script>window.__pwned=1</script>{{ 7 * 7 }}",
]
HOSTILE_REPLY = "<img src=x onerror=window.__pwned=1> see " + URL

PROBE = """() => {
  const areas = [...document.querySelectorAll('#messages, #threads')];
  const inside = (sel) => areas.reduce((n, area) => n + area.querySelectorAll(sel).length, 0);
  const onAttrs = areas.flatMap(a => [...a.querySelectorAll('*')])
    .flatMap(el => [...el.attributes].filter(at => /^on/i.test(at.name)).map(at => el.tagName + ' ' + at.name));
  return {
    pwned: typeof window.__pwned,
    dangerous: inside('script, svg, img, iframe, object, embed, textarea, div[hx-get]'),
    onAttrs,
    jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
  };
}"""


def assert_harmless(page: Page) -> None:
    result = page.evaluate(PROBE)
    assert result == {"pwned": "undefined", "dangerous": 0, "onAttrs": [], "jsLinks": 0}, result


def assert_links(page: Page) -> None:
    """The https URL is a safe link; `javascript:` stays text; the breakout attempt is cut at the quote."""
    links = page.locator("#messages article .msg-text a")
    hrefs = links.evaluate_all("nodes => nodes.map(a => [a.getAttribute('href'), a.rel, a.textContent])")
    rel = "noopener nofollow noreferrer"
    expected = [[URL, rel, URL], ["https://example.com/x", rel, "https://example.com/x"]]
    assert hrefs[:2] == expected, hrefs
    javascript_article = page.locator("#messages article", has_text="javascript:window.__pwned=1").first
    expect(javascript_article.locator("a")).to_have_count(0)


def test_hostile_name_and_messages_stay_text(server, browsers):
    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    mark_page(admin)

    visitor = browsers.new_page(server.url)
    name = HOSTILE_NAME + secrets.token_hex(2)
    start_chat_page(visitor, name)
    expected: list[tuple[str, str]] = []
    for text in HOSTILE:
        send(visitor, text, enter=True)
        expected.append(("visitor", text))
        expect_conversation(visitor, expected)  # arrived live over SSE
    assert_harmless(visitor)
    assert_links(visitor)
    expect(visitor.locator("#messages article[data-sender=visitor] .msg-author").first).to_have_text(name)

    # The admin's thread list, refreshed live (htmx GET after the `threads` event).
    thread = wait_for_thread(admin, name)
    expect(admin.locator(f"#thread-{thread} .preview")).to_have_text(BREAKOUT)
    assert admin.locator(f"#thread-{thread} .name").text_content() == name
    assert_not_reloaded(admin)
    assert_harmless(admin)

    # The open conversation, on page load.
    admin.goto(f"/admin/threads/{thread}")
    mark_page(admin)
    expect_conversation(admin, expected)
    assert admin.locator("#chat h1").text_content() == name
    assert admin.locator(f"#thread-{thread} .name").text_content() == name
    assert_harmless(admin)
    assert_links(admin)

    # More hostile text arriving live into the open conversation and the list.
    for text in HOSTILE_LIVE:
        send(visitor, text)
        expected.append(("visitor", text))
        expect_conversation(admin, expected)
    expect(admin.locator(f"#thread-{thread} .preview")).to_have_text(HOSTILE_LIVE[-1])
    send(admin, HOSTILE_REPLY)
    expected.append(("admin", HOSTILE_REPLY))
    expect_conversation(admin, expected)
    expect_conversation(visitor, expected)
    assert_not_reloaded(admin)
    assert_not_reloaded(visitor)
    assert_harmless(admin)
    assert_harmless(visitor)
    reply_link = visitor.locator("#messages article[data-sender=admin] .msg-text a")
    expect(reply_link).to_have_attribute("href", URL)
    expect(reply_link).to_have_attribute("rel", "noopener nofollow noreferrer")

    # Everything again on a fresh page load, on both sides.
    for page in (visitor, admin):
        page.reload()
        expect_conversation(page, expected)
        assert_harmless(page)
        assert_links(page)
    assert admin.locator(f"#thread-{thread} .name").text_content() == name
    expect(admin.locator(f"#thread-{thread} .preview")).to_have_text(HOSTILE_REPLY)
    browsers.assert_clean()


# -- 5. reconnect across a server restart ----------------------------------------------------------------------


@pytest.mark.parametrize("via", ["gateway", "direct"])
def test_streams_resume_after_server_restart(make_server, browsers, via):
    """`gateway`: a proxy in front answers 502 while the app is away, which closes each EventSource for good,
    so htmx-ext-sse opens a new one without Last-Event-ID and only the `after=` cursor in `sse-connect` (kept
    current by app.js) says where to resume. `direct`: the browser's own EventSource retries with
    Last-Event-ID. Either way, on the visitor's page and on the admin's open conversation, every message shows
    exactly once, in order, and nothing from before the outage is repeated."""
    app_server = outside_playwright(make_server, f"restart-{via}")
    gateway = Gateway(app_server.port).start() if via == "gateway" else None
    base_url = gateway.url if gateway else app_server.url
    try:
        visitor = browsers.new_page(base_url, probe_event_sources=True)
        admin_page = browsers.new_page(base_url, probe_event_sources=True)
        streams: list[Request] = []
        for page in (visitor, admin_page):
            page.on("request", lambda r: streams.append(r) if "/events" in r.url else None)
        name = unique("Restart")
        start_chat_page(visitor, name)
        send(visitor, "before one")
        send(visitor, "before two", enter=True)
        admin = login_admin(app_server)  # replies over plain HTTP, straight to the app
        thread = thread_id_by_http(admin, name)
        login_admin_page(admin_page, app_server)
        admin_page.goto(f"/admin/threads/{thread}")
        mark_page(admin_page)
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": "before three"}).status_code == 303
        before = [("visitor", "before one"), ("visitor", "before two"), ("admin", "before three")]
        for page in (visitor, admin_page):
            expect_conversation(page, before)
        assert sse_after(visitor, "#chat") == 3  # advanced from after=0
        assert sse_after(admin_page, ".admin-layout") == 3  # advanced from after=2
        visitor_stream = "/chat/events?after={}"
        admin_stream = f"/admin/events?thread={thread}&after={{}}"
        assert visitor.evaluate("window.__eventSources") == [visitor_stream.format(0)]
        assert admin_page.evaluate("window.__eventSources") == [admin_stream.format(2)]
        requests_before = len(streams)

        if gateway:
            gateway.down = True
        app_server.stop()
        if gateway:
            # Each stream broke and got a 502: htmx-ext-sse gave up on that EventSource and made a new one.
            for page in (visitor, admin_page):
                page.wait_for_function("() => window.__eventSources.length >= 2", timeout=TIMEOUT_MS)
        app_server.start()
        replies = ["after one", "after two", "after three"]
        for text in replies[:2]:  # posted before the pages have a stream again (gateway: surely)
            assert admin.post(f"/admin/threads/{thread}/messages", {"text": text}).status_code == 303
        if gateway:
            gateway.down = False
        expected = before + [("admin", text) for text in replies[:2]]
        for page in (visitor, admin_page):
            expect_conversation(page, expected)
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": replies[2]}).status_code == 303
        send(visitor, "after four")
        expected += [("admin", replies[2]), ("visitor", "after four")]
        for page, holder in ((visitor, "#chat"), (admin_page, ".admin-layout")):
            expect_conversation(page, expected)
            assert message_seqs(page) == [1, 2, 3, 4, 5, 6, 7]
            assert sse_after(page, holder) == 7
            assert_not_reloaded(page)

        reconnects = streams[requests_before:]
        assert reconnects, "the pages never reconnected"
        for page, stream in ((visitor, visitor_stream), (admin_page, admin_stream)):
            opened = page.evaluate("window.__eventSources")
            mine = [r for r in reconnects if r.frame.page == page]
            if gateway:
                # Every EventSource made after the break resumed from the page's cursor, without Last-Event-ID.
                assert len(opened) >= 2 and set(opened[1:]) == {stream.format(3)}, opened
                fresh = [r for r in mine if r.url.endswith(stream.format(3))]
                assert fresh and all("last-event-id" not in r.all_headers() for r in fresh)
                response = fresh[-1].response()
                assert response is not None and response.status == 200
            else:
                # One EventSource all along; the browser resumed it with Last-Event-ID.
                assert opened == opened[:1], opened
                assert mine and mine[-1].all_headers().get("last-event-id") == "3"
        if gateway:
            assert gateway.refused >= 2
        admin.close()
        browsers.assert_clean(expected_console_errors=OUTAGE_CONSOLE_ERRORS)
    finally:
        if gateway:
            gateway.stop()


# -- control events ------------------------------------------------------------------------------------------


def test_control_events_swap_out_of_band(server, browsers):
    """Clearing a conversation empties the visitor's list live; support presence flips live both ways."""
    visitor = browsers.new_page(server.url)
    name = unique("Control")
    start_chat_page(visitor, name)
    send(visitor, "to be cleared")
    expect_conversation(visitor, [("visitor", "to be cleared")])
    expect(visitor.locator("#support-status")).not_to_have_class(ONLINE)

    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    expect(visitor.locator("#support-status")).to_have_class(ONLINE)
    thread = wait_for_thread(admin, name)
    admin.goto(f"/admin/threads/{thread}")
    expect_conversation(admin, [("visitor", "to be cleared")])
    admin.click(f"form[action='/admin/threads/{thread}/clear'] button[type=submit]")
    admin.click("dialog.ask button.danger")  # it asks first
    expect(admin).to_have_url(re.compile(rf"/admin/threads/{thread}$"))
    expect(admin.locator("#messages article")).to_have_count(0)
    expect(visitor.locator("#messages article")).to_have_count(0)
    assert_not_reloaded(visitor)

    send(visitor, "after the clear")
    expect_conversation(visitor, [("visitor", "after the clear")])
    expect_conversation(admin, [("visitor", "after the clear")])
    assert sse_after(visitor, "#chat") == 3  # message 1, the clear (2), message 3

    admin.context.close()
    expect(visitor.locator("#support-status")).not_to_have_class(ONLINE)
    assert_not_reloaded(visitor)
    browsers.assert_clean()


# -- the thread list keeps up ----------------------------------------------------------------------------------


def test_thread_list_never_misses_the_latest_change(server, browsers):
    """A `threads` event that arrives while the list is being refreshed must still be shown: the list ends up
    showing the newest state, never one change behind (a leading-edge throttle would drop it)."""
    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    mark_page(admin)
    name = unique("Quick")
    visitor = start_visitor(server.url, name)
    thread = wait_for_thread(admin, name)
    for count in range(1, 4):
        # Refresh in flight for message N; message N+1 lands right behind it.
        with admin.expect_request(lambda r: "/admin/threads" in r.url):
            assert visitor.post("/chat/messages", {"text": f"quick {count}a"}).status_code == 303
        assert visitor.post("/chat/messages", {"text": f"quick {count}b"}).status_code == 303
        expect(admin.locator(f"#thread-{thread} .preview")).to_have_text(f"quick {count}b")
        expect(admin.locator(f"#thread-{thread} .badge")).to_have_text(str(2 * count))
    assert_not_reloaded(admin)
    visitor.close()
    browsers.assert_clean()


# -- Telegram ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def telegram_fake() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


def test_reply_from_telegram_appears_live_in_the_visitor_page(make_server, telegram_fake, browsers):
    env = {"PUBLIC_URL": "https://chat.example.test", "TELEGRAM_POLL_SECONDS": "1", "TELEGRAM_TIMEOUT": "2"}
    server = outside_playwright(lambda: make_server("browser-telegram", **env, **telegram_fake.env()))
    visitor = browsers.new_page(server.url)
    name = unique("Telegram")
    start_chat_page(visitor, name)
    question = "Is anyone on Telegram?"
    send(visitor, question)

    def delivered() -> int | None:
        for call in telegram_fake.sent("sendMessage"):
            if f"{name}:\n{question}" in str(call.params.get("text")):
                return call.result["message_id"]
        return None

    telegram_id = wait_until(delivered, timeout=15, message="the question in Telegram")
    answer = "Yes — answering from my phone <b>not bold</b>"
    telegram_fake.admin_message(answer, reply_to=telegram_id)
    try:
        expect_conversation(visitor, [("visitor", question), ("admin", answer)])
    except AssertionError as failure:  # what the server and the fake Bot API saw, for the report
        server_log = [line for line in server.stderr().splitlines() if '"http.response"' not in line][-30:]
        polls = [(p.offset, p.status, p.update_ids, p.description) for p in telegram_fake.polls[-10:]]
        calls = [(c.method, c.status) for c in telegram_fake.calls[-20:]]
        raise AssertionError(
            f"{failure}\nserver log:\n" + "\n".join(server_log) + f"\npolls: {polls}\ncalls: {calls}"
            f"\npending: {telegram_fake.pending_update_ids()}"
        ) from None
    assert visitor.locator("#messages b").count() == 0  # Telegram text is plain text here too
    assert_not_reloaded(visitor)
