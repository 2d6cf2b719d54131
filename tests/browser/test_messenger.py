"""A messenger, not a form (issue 13): bubbles on two sides, each with its time, consecutive messages of one sender
grouped under one header (also for messages that arrive live; two agents in turn are two groups), support's name
with avatar initials; a composer that grows with the text, sends on Enter and breaks the line on Shift+Enter,
shows "Sending…" and "Not sent" with a Retry that posts the same client_msg_id (stored once); and without
JavaScript everything still posts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import Page, Route, expect

from tests.browser import BrowserSession, login_admin_page, send, start_chat_page
from tests.server.test_team import agent_session
from tests.support import find_thread, login_admin

pytestmark = pytest.mark.browser

LOST_POST_CONSOLE_ERRORS = (
    r"^Failed to load resource: net::ERR_FAILED",
    r"^htmx:(sendError|afterRequest), \[object HTMLFormElement\]$",
)


@pytest.fixture
def browsers(chromium_browser: PlaywrightBrowser) -> Iterator[BrowserSession]:
    """conftest.py's session without its automatic `assert_clean()`: the retry test provokes network errors."""
    session = BrowserSession(chromium_browser)
    try:
        yield session
    finally:
        session.close()


def headers_shown(page: Page, sender: str) -> list[bool]:
    """For each message of `sender`, in order: is its header (name, avatar) shown?"""
    return page.eval_on_selector_all(
        f"#messages article[data-sender={sender}] .msg-meta", "nodes => nodes.map(n => n.offsetParent !== null)"
    )


def test_bubbles_sides_times_and_groups(server, browsers):
    name = f"Grouped {secrets.token_hex(2)}"
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, name)
    send(visitor, "first question")
    send(visitor, "second question", enter=True)
    admin = login_admin(server)
    thread = find_thread(admin, name)
    for text in ("first answer", "second answer"):  # arrive live over the stream, appended to the list
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": text}).status_code in (200, 303)
    expect(visitor.locator("#messages article[data-sender=admin]")).to_have_count(2)
    send(visitor, "third question")
    expect(visitor.locator("#messages article")).to_have_count(5)

    def check_visitor_page() -> None:
        # Support's group: one header (avatar initials + name), the second bubble without it.
        assert headers_shown(visitor, "admin") == [True, False]
        first = visitor.locator("#messages article[data-sender=admin]").first
        expect(first.locator(".msg-author")).to_have_text("Support")
        expect(first.locator(".avatar")).to_have_text("S")
        expect(first.locator(".avatar")).to_be_visible()
        # The visitor's own bubbles carry no name at all, and sit on the other side.
        assert headers_shown(visitor, "visitor") == [False, False, False]
        list_box = visitor.locator("#messages").bounding_box()
        mine = visitor.locator("#messages article[data-sender=visitor]").first.bounding_box()
        theirs = first.bounding_box()
        assert list_box and mine and theirs
        assert mine["x"] + mine["width"] > list_box["x"] + list_box["width"] - 40  # right edge
        assert theirs["x"] < list_box["x"] + 80 and theirs["x"] + theirs["width"] < mine["x"] + mine["width"]
        # Every bubble shows its time, machine-readable in `datetime`.
        times = visitor.locator("#messages article time")
        expect(times).to_have_count(5)
        for index in range(5):
            stamp = times.nth(index)
            expect(stamp).to_be_visible()
            expect(stamp).to_have_text(re.compile(r"^\d\d:\d\d$"))
            datetime.fromisoformat(stamp.get_attribute("datetime") or "")

    check_visitor_page()  # live: the last three arrived over the stream
    visitor.reload()
    check_visitor_page()  # rendered by the server

    # The dashboard: the visitor's first two messages under one header (their name), support's two likewise.
    dashboard = browsers.new_page(server.url)
    login_admin_page(dashboard, server)
    dashboard.goto(f"/admin/threads/{thread}")
    expect(dashboard.locator("#messages article")).to_have_count(5)
    assert headers_shown(dashboard, "visitor") == [True, False, True]
    assert headers_shown(dashboard, "admin") == [True, False]
    expect(dashboard.locator("#messages article[data-sender=visitor] .msg-author").first).to_have_text(name)
    admin.close()
    browsers.assert_clean()


def test_two_agents_answering_in_turn_show_both_names(server, browsers):
    name = f"Two agents {secrets.token_hex(2)}"
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, name)
    send(visitor, "anyone there?")
    owner = login_admin(server)
    agent = agent_session(server, owner, f"ag{secrets.token_hex(3)}", "Deniz Ak")
    thread = find_thread(owner, name)
    for who, text in ((agent, "hi, Deniz here"), (agent, "one moment"), (owner, "and Support too")):
        assert who.post(f"/admin/threads/{thread}/messages", {"text": text}).status_code == 303
    expect(visitor.locator("#messages article[data-sender=admin]")).to_have_count(3)

    def check() -> None:
        assert headers_shown(visitor, "admin") == [True, False, True]  # a new group where the writer changes
        authors = visitor.locator("#messages article[data-sender=admin] .msg-author")
        expect(authors.nth(0)).to_have_text("Deniz Ak")
        expect(authors.nth(2)).to_have_text("Support")

    check()  # live: the replies arrived over the stream
    visitor.reload()
    check()  # rendered by the server
    owner.close()
    agent.close()
    browsers.assert_clean()


def test_enter_sends_shift_enter_breaks_the_line_and_the_box_grows(server, browsers):
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, f"Typist {secrets.token_hex(2)}")
    field = visitor.locator("#composer-text")
    empty_height = field.bounding_box()["height"]
    field.click()
    field.type("line one")
    field.press("Shift+Enter")
    field.type("line two")
    field.press("Shift+Enter")
    field.type("line three")
    expect(field).to_have_value("line one\nline two\nline three")  # nothing sent yet
    expect(visitor.locator("#messages article")).to_have_count(0)
    assert field.bounding_box()["height"] > empty_height + 10, "the text box does not grow with the text"
    field.fill("\n".join(f"line {i}" for i in range(40)))
    tall = field.bounding_box()["height"]
    assert tall <= 170, f"the text box grows without limit ({tall}px)"  # max-height 10rem, then it scrolls

    field.fill("")
    field.type("line one")
    field.press("Shift+Enter")
    field.type("line two")
    field.press("Enter")
    expect(field).to_have_value("")
    sent = visitor.locator("#messages article[data-sender=visitor] .msg-text")
    expect(sent).to_have_count(1)
    assert sent.inner_html() == "line one<br>line two"
    assert field.bounding_box()["height"] <= empty_height + 1  # the fresh composer is small again
    browsers.assert_clean()


def test_sending_then_failed_then_retry_delivers_once(server, browsers):
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, f"Flaky {secrets.token_hex(2)}")
    posts: list[str] = []
    held: list[Route] = []
    mode = {"now": "hold"}

    def on_post(route: Route) -> None:
        posts.append(route.request.post_data or "")
        if mode["now"] == "hold":  # no answer yet: the page shows "Sending…"
            held.append(route)
        elif mode["now"] == "lose-answer":  # the server stores it, the answer is lost on the way back
            route.fetch()
            route.abort("failed")
        else:
            route.continue_()

    visitor.route("**/chat/messages*", on_post)
    status = visitor.locator("#composer [data-status]")
    retry = visitor.get_by_role("button", name="Retry")
    visitor.fill("#composer-text", "sent exactly once")
    visitor.click("#composer button[type=submit]")
    expect(status).to_have_text(re.compile(r"^Sending…"))
    expect(retry).to_be_hidden()

    mode["now"] = "lose-answer"
    held.pop().abort("failed")  # the network is down: never reached the server
    expect(status).to_contain_text("Not sent")
    expect(retry).to_be_visible()
    expect(visitor.locator("#composer-text")).to_have_value("sent exactly once")
    # The composer tries again by itself after a second; this time the server stores it but the answer is lost.
    for _ in range(50):  # Playwright runs the route handler only while the test talks to the browser
        if len(posts) == 2:
            break
        visitor.wait_for_timeout(100)
    assert len(posts) == 2, "no automatic retry"
    expect(retry).to_be_visible()

    mode["now"] = "pass"
    retry.click()
    expect(visitor.locator("#composer-text")).to_have_value("")  # a fresh composer: the post succeeded
    expect(status).to_be_hidden()
    ids = {re.search(r'name="client_msg_id"\r\n\r\n([\w-]+)', post).group(1) for post in posts}
    assert len(posts) == 3 and len(ids) == 1, (len(posts), ids)  # every try was the same post
    texts = visitor.locator("#messages article .msg-text")
    expect(texts).to_have_text(["sent exactly once"])
    visitor.unroute("**/chat/messages*")
    visitor.reload()
    expect(texts).to_have_text(["sent exactly once"])
    browsers.assert_clean(LOST_POST_CONSOLE_ERRORS)


def test_without_javascript_bubbles_and_sending_still_work(server, browsers):
    visitor = browsers.new_page(server.url, java_script_enabled=False)
    visitor.goto("/")
    visitor.fill("#display_name", "No script")
    visitor.click("form[action='/chat/start'] button[type=submit]")
    for text in ("plain post one", "plain post two"):
        visitor.fill("#composer-text", text)
        visitor.click("#composer button[type=submit]")
        expect(visitor).to_have_url(server.url + "/")
    expect(visitor.locator("#messages article .msg-text")).to_have_text(["plain post one", "plain post two"])
    expect(visitor.locator("#messages article time")).to_have_count(2)
    expect(visitor.locator("#composer [data-status]")).to_be_hidden()
    browsers.assert_clean()
