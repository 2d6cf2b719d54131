"""Typing indicators and read receipts (SPEC §10) against a real server, read from the SSE streams: `typing` and
`read` carry no id, are never replayed, are throttled, and the draft reaches agents only with TYPING_PREVIEW=on;
"Seen" is on the pages after a reload (stored state), live through `read`."""

from __future__ import annotations

import re
import time

import httpx

from tests.streams import open_reader
from tests.support import find_thread, login_admin, start_visitor, wait_until

SEEN_RE = re.compile(r'<article id="msg-(\d+)"[^>]*>(?:(?!</article>).)*<small id="seen"', re.S)


def typing_events(reader, start: int = 0):
    return [e for e in reader.events[start:] if e.event == "typing" and e.data]


def seen_message(html: str) -> int | None:
    """The id of the message that shows "Seen" on a page."""
    match = SEEN_RE.search(html)
    return int(match.group(1)) if match else None


def test_visitor_typing_reaches_the_agent_at_once_without_an_id_and_is_never_replayed(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Typist")
    assert visitor.post("/chat/messages", {"text": "hello"}).status_code == 303
    thread = find_thread(admin, "Typist")
    reader = open_reader(server.url, f"/admin/events?thread={thread}", admin.http.cookies)
    watcher = open_reader(server.url, "/chat/events", visitor.http.cookies)  # the writer's own side: nothing
    try:
        reader.wait_for_messages(1)
        started = time.monotonic()
        answer = visitor.post("/chat/typing", {"text": "my secret draft"})
        assert answer.status_code == 204
        wait_until(lambda: typing_events(reader), timeout=1.0, message="typing on the agent's stream within 1 s")
        assert time.monotonic() - started < 1.0
        event = typing_events(reader)[0]
        assert event.id is None
        assert "The visitor is typing" in event.data
        assert "secret" not in event.data  # TYPING_PREVIEW is off by default
        # The stream clears it 6 s after the last one (an empty `typing`, no id either).
        cleared = wait_until(
            lambda: [e for e in reader.events if e.event == "typing" and not e.data], timeout=8, message="cleared"
        )
        assert cleared[0].id is None
        assert not typing_events(watcher)
        last_id = reader.last_id
    finally:
        reader.close()
        watcher.close()
    # A reconnect from the last id replays messages only: never a typing event.
    assert visitor.post("/chat/messages", {"text": "after typing"}).status_code == 303
    again = open_reader(server.url, f"/admin/events?thread={thread}", admin.http.cookies, after=last_id)
    try:
        again.wait_for_messages(1)
        time.sleep(0.3)
        assert [e.event for e in again.events if e.event in ("typing", "read") and e.data] == []
    finally:
        again.close()


def test_agent_typing_reaches_the_visitor_and_a_message_clears_it(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Waiting")
    thread = find_thread(admin, "Waiting")
    reader = open_reader(server.url, "/chat/events", visitor.http.cookies)
    try:
        assert admin.post(f"/admin/threads/{thread}/typing", {"text": "never sent"}).status_code == 204
        event = reader.wait_for_event("typing", timeout=1.0)
        assert event.id is None and "Support is typing" in event.data and "never sent" not in event.data
        assert 'id="support-status"' in event.data and 'hx-swap-oob="true"' in event.data  # the status line says it
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": "here I am"}).status_code == 303
        reader.wait_for_messages(1)

        def cleared():  # the status line as it was
            typing = [e for e in reader.events if e.event == "typing"]
            last = typing[-1].data if len(typing) > 1 else ""
            return 'id="support-status"' in last and "typing" not in last and typing[-1].id is None

        wait_until(cleared, timeout=2, message="the status line back")
    finally:
        reader.close()


def test_typing_is_throttled_to_one_a_second_per_writer(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Hasty")
    thread = find_thread(admin, "Hasty")
    reader = open_reader(server.url, f"/admin/events?thread={thread}", admin.http.cookies)
    try:
        for _ in range(5):
            assert visitor.post("/chat/typing", {}).status_code == 204
        reader.wait_for_event("typing")
        time.sleep(0.5)
        assert len(typing_events(reader)) == 1
        time.sleep(0.6)
        assert visitor.post("/chat/typing", {}).status_code == 204
        wait_until(lambda: len(typing_events(reader)) == 2, timeout=2, message="a second typing after a second")
    finally:
        reader.close()


def test_typing_needs_a_conversation(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Ender")
    assert visitor.post("/chat/end", {"confirm": "yes"}).status_code == 200
    assert visitor.post("/chat/typing", {"text": "x"}).status_code == 409
    assert admin.post("/admin/threads/999999/typing", {}).status_code == 404


def test_preview_reaches_agents_only_with_typing_preview_on(make_server):
    server = make_server("preview", TYPING_PREVIEW="on")
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Drafter")
    thread = find_thread(admin, "Drafter")
    assert "data-draft" in visitor.get("/").text  # the page sends its draft
    assert "data-draft" not in admin.get(f"/admin/threads/{thread}").text  # an agent's draft: never
    reader = open_reader(server.url, f"/admin/events?thread={thread}", admin.http.cookies)
    visitor_reader = open_reader(server.url, "/chat/events", visitor.http.cookies)
    try:
        draft = "<b>where is</b>   my order " + "x" * 300
        assert visitor.post("/chat/typing", {"text": draft}).status_code == 204
        event = reader.wait_for_event("typing", timeout=1.0)
        assert "&lt;b&gt;where is&lt;/b&gt; my order" in event.data and "<b>" not in event.data
        assert "x" * 175 in event.data and "x" * 176 not in event.data  # capped at 200 characters
        assert admin.post(f"/admin/threads/{thread}/typing", {"text": "agent draft"}).status_code == 204
        assert "agent draft" not in visitor_reader.wait_for_event("typing", timeout=1.0).data
        assert not typing_events(visitor_reader)[1:]  # the visitor never gets their own typing back
        assert "where is" not in "".join(e.data for e in visitor_reader.events)
    finally:
        reader.close()
        visitor_reader.close()


def test_read_receipts_both_ways_live_and_after_a_reload(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Reader")
    assert visitor.post("/chat/messages", {"text": "are you there?"}).status_code == 303
    thread = find_thread(admin, "Reader")
    assert seen_message(visitor.get("/").text) is None  # nobody opened it yet
    reader = open_reader(server.url, "/chat/events", visitor.http.cookies)
    try:
        start = len(reader.events)
        page = admin.get(f"/admin/threads/{thread}").text  # the agent opens the conversation
        read = reader.wait_for_event("read", timeout=2, start=start)
        assert read.id is None
        message_id = int(re.findall(r'<article id="msg-(\d+)"', page)[-1])
        assert f'hx-swap-oob="beforeend:#msg-{message_id}"' in read.data and "Seen" in read.data
        assert seen_message(visitor.get("/").text) == message_id  # on reload: stored
        # Opening it again with nothing new: no second write, no second event.
        admin.get(f"/admin/threads/{thread}")
        time.sleep(0.3)
        assert [e for e in reader.events[start:] if e.event == "read"] == [read]
    finally:
        reader.close()
    # The other way: the agent's reply, seen by the visitor's page, shows "Seen" to agents (live and on reload).
    admin_reader = open_reader(server.url, f"/admin/events?thread={thread}", admin.http.cookies)
    try:
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": "yes!"}).status_code == 303
        reply_id = int(re.findall(r'<article id="msg-(\d+)"', admin.get(f"/admin/threads/{thread}").text)[-1])
        assert seen_message(admin.get(f"/admin/threads/{thread}").text) is None
        start = len(admin_reader.events)
        visitor.get("/")
        read = admin_reader.wait_for_event("read", timeout=2, start=start)
        assert read.id is None and f"#msg-{reply_id}" in read.data
        assert seen_message(admin.get(f"/admin/threads/{thread}").text) == reply_id
    finally:
        admin_reader.close()


def test_a_visitor_stream_that_shows_a_reply_marks_it_seen(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Live reader")
    thread = find_thread(admin, "Live reader")
    reader = open_reader(server.url, "/chat/events", visitor.http.cookies)
    admin_reader = open_reader(server.url, f"/admin/events?thread={thread}", admin.http.cookies)
    try:
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": "hi"}).status_code == 303
        reader.wait_for_messages(1)
        read = admin_reader.wait_for_event("read", timeout=3)
        assert read.id is None
        page = admin.get(f"/admin/threads/{thread}").text
        assert seen_message(page) == int(re.findall(r'<article id="msg-(\d+)"', page)[-1])
    finally:
        reader.close()
        admin_reader.close()


def test_typing_events_are_plain_sse_without_id_lines(server):
    """On the wire: `event: typing` and its data, never an `id:` line."""
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Wire")
    thread = find_thread(admin, "Wire")
    block: list[str] = []
    with httpx.Client(base_url=server.url, cookies=visitor.http.cookies, timeout=10) as http:
        with http.stream("GET", "/chat/events") as response:
            posted = False
            for line in response.iter_lines():
                block.append(line)
                if line != "":
                    continue
                if any(x.startswith("event: typing") for x in block):
                    break
                if not posted and any(x.startswith("event: control") for x in block):  # subscribed
                    assert admin.post(f"/admin/threads/{thread}/typing", {}).status_code == 204
                    posted = True
                block = []
    assert any(x.startswith("data: ") for x in block) and not [x for x in block if x.startswith("id:")], block
