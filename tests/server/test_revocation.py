"""Revocation against real uvicorn servers (SPEC §13): an admin stream ends within 5 s of its session's logout or
expiry, and ending a chat revokes the visitor's token — the old cookie no longer reads, streams, posts or
downloads, and its open streams end. On PostgreSQL the same across two server processes on one database."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests import media_files
from tests.support import (
    BACKEND,
    Browser,
    Server,
    SSEEvent,
    find_thread,
    iter_sse,
    login_admin,
    message_text,
    start_visitor,
    wait_until,
)

MEDIA_RE = re.compile(r'src="/media/([A-Za-z0-9_-]+)"')
SECRET = "secret after logout"


class OneStream(threading.Thread):
    """One SSE connection, never reconnected: records its events and when the server ended it."""

    def __init__(self, base_url: str, path: str, cookies: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.base_url, self.path, self.cookies = base_url, path, cookies
        self.status = 0
        self.events: list[SSEEvent] = []
        self.ended_at: float | None = None
        self.error: str = ""

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base_url, cookies=self.cookies, timeout=httpx.Timeout(10, read=60)) as http:
                with http.stream("GET", self.path) as response:
                    self.status = response.status_code
                    for event in iter_sse(response):
                        self.events.append(event)
        except httpx.HTTPError as exc:
            self.error = repr(exc)
        self.ended_at = time.monotonic()

    def opened(self) -> OneStream:
        self.start()
        wait_until(lambda: self.events or self.ended_at, timeout=15, message=f"stream {self.path} to open")
        assert self.status == 200 and self.ended_at is None, (self.status, self.error)
        return self

    def wait_ended(self, since: float, within: float = 5.0) -> float:
        wait_until(lambda: self.ended_at is not None, timeout=within + 5, message=f"{self.path} to end")
        assert self.ended_at is not None
        took = self.ended_at - since
        assert took <= within, f"{self.path} ended {took:.2f}s after the revocation (limit {within}s)"
        return took

    def texts(self) -> list[str]:
        return [message_text(e.data) for e in self.events if e.event == "message"]

    def saw(self, text: str) -> bool:
        return any(text in e.data for e in self.events)


def jar(browser: Browser) -> dict[str, str]:
    """A copy of a client's cookies as they are now (a later response may expire them in the client)."""
    return {cookie.name: cookie.value for cookie in browser.http.cookies.jar}


def post_image(visitor: Browser) -> str:
    response = visitor.http.post(
        "/chat/messages",
        data={"text": "picture", "_csrf_token": visitor.csrf_token},
        files={"file": ("a.png", media_files.image("PNG"), "image/png")},
    )
    assert response.status_code == 303, response.text
    found = MEDIA_RE.findall(visitor.get("/").text)
    assert found, "the image is on the page"
    return found[-1]


# -- admin streams ------------------------------------------------------------------------------------------


def test_logout_ends_the_admin_stream(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Logout")
    visitor.post("/chat/messages", {"text": "before"})
    thread = find_thread(admin, "Logout")
    streams = [
        OneStream(server.url, f"/admin/events?thread={thread}", jar(admin)).opened(),
        OneStream(server.url, "/admin/events", jar(admin)).opened(),
    ]
    wait_until(lambda: streams[0].texts() == ["before"], message="the backlog on the admin stream")
    cookies = jar(admin)
    logged_out = time.monotonic()
    assert admin.post("/logout").status_code == 303
    took = [stream.wait_ended(logged_out) for stream in streams]
    print(f"\nadmin streams ended {', '.join(f'{t:.2f}s' for t in took)} after logout")
    assert visitor.post("/chat/messages", {"text": SECRET}).status_code == 303
    time.sleep(0.5)
    assert not any(stream.saw(SECRET) for stream in streams)
    # The browser's reconnect with the old cookie is told there is nothing to follow.
    assert httpx.get(server.url + f"/admin/events?thread={thread}", cookies=cookies).status_code == 204


@pytest.mark.parametrize("timeout", ["SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT"])
def test_expiry_ends_the_admin_stream(make_server, timeout):
    seconds = 4
    short = make_server("expiry", **{timeout: f"{seconds}s"}, SSE_PING_SECONDS="1")
    admin = login_admin(short)
    visitor = start_visitor(short.url, "Expiry")
    stream = OneStream(short.url, "/admin/events", jar(admin))
    opened = time.monotonic()  # the stream's request refreshes the idle clock; nothing after it does
    stream.opened()
    # Pings keep the stream busy, yet it is not activity: the session still expires.
    took = stream.wait_ended(opened, within=seconds + 5)
    print(f"\nadmin stream ended {took:.2f}s after it opened ({timeout}={seconds}s)")
    if timeout == "SESSION_IDLE_TIMEOUT":
        assert took >= seconds - 1, "ended before the session expired"
    assert visitor.post("/chat/messages", {"text": SECRET}).status_code == 303
    time.sleep(0.5)
    assert not stream.saw(SECRET)
    assert admin.get("/admin").status_code == 303  # the session is over for pages too


def test_a_new_login_in_the_browser_ends_the_old_sessions_streams(server):
    admin = login_admin(server)
    stream = OneStream(server.url, "/admin/events", jar(admin)).opened()
    again = time.monotonic()
    login_admin(server, admin)  # the old session is dropped: a new id at every login
    stream.wait_ended(again, within=5 + (time.monotonic() - again))
    assert OneStream(server.url, "/admin/events", jar(admin)).opened().status == 200


# -- ending a chat revokes the visitor's token ---------------------------------------------------------------


def test_ending_a_chat_revokes_the_old_cookie(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Leaver")
    assert visitor.post("/chat/messages", {"text": "private words"}).status_code == 303
    media_id = post_image(visitor)
    old = jar(visitor)
    assert httpx.get(f"{server.url}/media/{media_id}", cookies=old).status_code == 200
    streams = [OneStream(server.url, "/chat/events", old).opened() for _ in range(2)]
    ended = time.monotonic()
    response = visitor.post("/chat/end", {"confirm": "yes"})
    assert response.status_code == 200
    for stream in streams:
        stream.wait_ended(ended)
        assert 'id="chat"' in stream.events[-1].data and stream.events[-1].event == "control"

    replay = Browser(server.url, cookies=old)
    page = replay.get("/").text
    assert 'action="/chat/start' in page and "private words" not in page  # the start form, not the history
    assert httpx.get(f"{server.url}/chat/events", cookies=old).status_code == 204
    assert httpx.get(f"{server.url}/media/{media_id}", cookies=old).status_code == 404
    refused = replay.post("/chat/messages", {"text": "after the end"})
    assert refused.status_code == 303 and refused.headers["location"] == "/"
    refused = replay.post("/chat/messages", {"text": "after the end"}, htmx=True)
    assert refused.status_code == 409
    replay.close()

    # The conversation stays for support, ended, and nothing new was stored.
    thread = find_thread(admin, "Leaver")
    page = admin.get(f"/admin/threads/{thread}").text
    assert "private words" in page and "after the end" not in page
    assert admin.http.get(f"/media/{media_id}").status_code == 200


# -- PostgreSQL: two processes on one database ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(make_server: Callable[..., Server]) -> tuple[Server, Server]:
    if BACKEND != "postgres":
        pytest.skip("two processes on one database need PostgreSQL (SOHBET_TEST_DB=postgres)")
    a = make_server("rev-a", SSE_PING_SECONDS="1")
    shared = {key: a.env[key] for key in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS")}
    b = make_server("rev-b", SSE_PING_SECONDS="1", **shared)
    return a, b


def test_logout_on_one_process_ends_the_stream_on_another(pair):
    a, b = pair
    admin = login_admin(a)
    visitor = start_visitor(a.url, "Across")
    thread = find_thread(admin, "Across")
    stream = OneStream(b.url, f"/admin/events?thread={thread}", jar(admin)).opened()
    logged_out = time.monotonic()
    assert admin.post("/logout").status_code == 303  # through A
    took = stream.wait_ended(logged_out)
    print(f"\nadmin stream on B ended {took:.2f}s after logout on A")
    assert took < 2, "the revocation should come through NOTIFY, not only the periodic recheck"
    assert visitor.post("/chat/messages", {"text": SECRET}).status_code == 303
    time.sleep(0.5)
    assert not stream.saw(SECRET)


def test_ending_a_chat_on_one_process_ends_its_streams_on_another(pair):
    a, b = pair
    visitor = start_visitor(a.url, "Leaver across")
    old = jar(visitor)
    stream = OneStream(b.url, "/chat/events", old).opened()
    ended = time.monotonic()
    assert visitor.post("/chat/end", {"confirm": "yes"}).status_code == 200  # through A
    took = stream.wait_ended(ended)
    print(f"\nvisitor stream on B ended {took:.2f}s after the chat ended on A")
    assert httpx.get(f"{b.url}/chat/events", cookies=old).status_code == 204
    assert 'action="/chat/start' in httpx.get(f"{b.url}/", cookies=old).text
