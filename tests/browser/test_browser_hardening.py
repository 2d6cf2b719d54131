"""Issue 11 in a real browser. The htmx composer retries a post whose answer was lost (SPEC §13 idempotent
posts): the first POST reaches the server and stores the message, then its answer is cut (a network error, or a
gateway's 502); the composer sends the same form again (same `client_msg_id`) and the message is stored once.
And the dashboard's conversation list is paged: "Show older conversations" appends the next page in place."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import Route, expect

from tests.browser import (
    BrowserSession,
    assert_not_reloaded,
    login_admin_page,
    mark_page,
    send,
    start_chat_page,
)
from tests.support import start_visitor

pytestmark = pytest.mark.browser

LOST_ANSWER_CONSOLE_ERRORS = (
    r"^Failed to load resource: net::ERR_FAILED",
    r"^Failed to load resource: the server responded with a status of 502",
    r"^htmx:(sendError|afterRequest), \[object HTMLFormElement\]$",
)


@pytest.fixture
def browsers(chromium_browser: PlaywrightBrowser) -> Iterator[BrowserSession]:
    """conftest.py's session without its automatic `assert_clean()`: these tests provoke and check errors."""
    session = BrowserSession(chromium_browser)
    try:
        yield session
    finally:
        session.close()


@pytest.mark.parametrize("loss", ["network-error", "bad-gateway"])
def test_a_lost_answer_is_retried_and_stored_once(server, browsers, loss):
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, f"Retry {secrets.token_hex(3)}")
    posts: list[str] = []

    def cut_first_answer(route: Route) -> None:
        posts.append(route.request.post_data or "")
        if len(posts) > 1:
            route.continue_()
            return
        route.fetch()  # the server gets the post and stores the message; its answer never reaches the page
        if loss == "network-error":
            route.abort("failed")
        else:
            route.fulfill(status=502, content_type="text/plain", body="Bad Gateway")

    visitor.route("**/chat/messages*", cut_first_answer)
    send(visitor, "sent once despite the retry")  # the composer comes back empty only when a post succeeded
    assert len(posts) == 2
    first_id, second_id = (re.search(r'name="client_msg_id"\r\n\r\n([\w-]+)', post).group(1) for post in posts)
    assert first_id == second_id  # the retry is the same post
    expect(visitor.locator("#messages article .msg-text")).to_have_text(["sent once despite the retry"])
    visitor.unroute("**/chat/messages*")
    visitor.reload()
    expect(visitor.locator("#messages article .msg-text")).to_have_text(["sent once despite the retry"])
    # The next message is a new post with a new id.
    send(visitor, "and the next one")
    expect(visitor.locator("#messages article .msg-text")).to_have_text(
        ["sent once despite the retry", "and the next one"]
    )
    browsers.assert_clean(LOST_ANSWER_CONSOLE_ERRORS)


def test_older_conversations_are_appended_in_place(make_server, browsers):
    server = make_server("browser-paging")
    visitors = [start_visitor(server.url, f"Page {index}") for index in range(55)]
    admin = browsers.new_page(server.url)

    def refresh(response) -> bool:
        return "/admin/threads?" in response.url and "before=" not in response.url

    # The stream's first event (a resync) refreshes the list: a click on "older" while it is in flight is dropped.
    with admin.expect_response(refresh, timeout=20_000):
        login_admin_page(admin, server)
    mark_page(admin)
    items = admin.locator('#threads li[id^="thread-"] .name')
    expect(items).to_have_count(50)
    admin.get_by_role("link", name="Show older conversations").click()
    expect(items).to_have_count(55)
    expect(admin.locator("#threads a", has_text="older")).to_have_count(0)
    names = [name.strip() for name in items.all_text_contents()]
    assert names == [f"Page {index}" for index in reversed(range(55))]
    # A live refresh (here: the oldest visitor writes) keeps what was appended, now with that visitor on top.
    with admin.expect_response(refresh, timeout=20_000):
        assert visitors[0].post("/chat/messages", {"text": "still here"}).status_code == 303
    expect(items.first).to_have_text("Page 0")
    expect(items).to_have_count(55)
    assert_not_reloaded(admin)
    browsers.assert_clean()
