"""Caps on open event streams (SPEC §13), against a real uvicorn server: at most MAX_STREAMS_PER_CONVERSATION
(5) per conversation and MAX_STREAMS_PER_IP per client address, MAX_STREAMS_PER_SESSION per admin session; the
next gets a clear 429, and a closed stream gives its place back."""

from __future__ import annotations

from contextlib import ExitStack

import httpx

from tests.support import Browser, login_admin, start_visitor, wait_until


class Streams:
    """Event streams held open (their responses are never read to the end) until closed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.open: list[tuple[httpx.Client, httpx.Response]] = []

    def try_open(self, path: str, client: Browser) -> httpx.Response:
        """The answer; a 200 stays open (counted by the server) until `close_one` or `close_all`."""
        http = httpx.Client(base_url=self.base_url, cookies=client.http.cookies, timeout=httpx.Timeout(10, read=60))
        response = http.send(http.build_request("GET", path), stream=True)
        if response.status_code == 200:
            self.open.append((http, response))
        else:
            response.read()
            response.close()
            http.close()
        return response

    def close_one(self) -> None:
        http, response = self.open.pop()
        response.close()
        http.close()

    def close_all(self) -> None:
        while self.open:
            self.close_one()


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 429, response.status_code
    assert response.headers["content-type"].startswith("text/plain")
    assert "Too many live connections" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_five_streams_per_conversation_then_429_until_one_closes(make_server):
    server = make_server("caps-conversation")
    visitor = start_visitor(server.url, "Tabs")
    streams = Streams(server.url)
    with ExitStack() as cleanup:
        cleanup.callback(streams.close_all)
        for _ in range(5):
            assert streams.try_open("/chat/events", visitor).status_code == 200
        assert_refused(streams.try_open("/chat/events", visitor))
        # Another conversation from the same address is not held back by this one's cap.
        other = start_visitor(server.url, "Other")
        assert streams.try_open("/chat/events", other).status_code == 200
        streams.close_one()  # the other conversation's
        streams.close_one()  # one of the five
        wait_until(
            lambda: streams.try_open("/chat/events", visitor).status_code == 200,
            timeout=10,
            message="a closed stream's place to be given back",
        )
        assert len(streams.open) == 5
        assert_refused(streams.try_open("/chat/events", visitor))


def test_streams_per_client_address_across_conversations(make_server):
    server = make_server("caps-ip", MAX_STREAMS_PER_IP="8")
    visitors = [start_visitor(server.url, f"Crowd {n}") for n in range(3)]
    streams = Streams(server.url)
    with ExitStack() as cleanup:
        cleanup.callback(streams.close_all)
        for index in range(8):  # 3 + 3 + 2 over three conversations: each under its own cap of 5
            assert streams.try_open("/chat/events", visitors[index % 3]).status_code == 200
        for visitor in visitors:
            assert_refused(streams.try_open("/chat/events", visitor))
        streams.close_one()
        wait_until(
            lambda: streams.try_open("/chat/events", visitors[0]).status_code == 200,
            timeout=10,
            message="a closed stream's place to be given back",
        )


def test_admin_streams_per_session(make_server):
    server = make_server("caps-admin", MAX_STREAMS_PER_SESSION="3")
    admin = login_admin(server)
    streams = Streams(server.url)
    with ExitStack() as cleanup:
        cleanup.callback(streams.close_all)
        for _ in range(3):
            assert streams.try_open("/admin/events", admin).status_code == 200
        assert_refused(streams.try_open("/admin/events", admin))
        # Another session (another browser) has its own cap; visitors are not counted against admins.
        assert streams.try_open("/admin/events", login_admin(server)).status_code == 200
        assert streams.try_open("/chat/events", start_visitor(server.url, "Beside")).status_code == 200
