"""SSE streams against a real uvicorn process: replay, isolation, keep-alive, and a 1,000-message burst through
a proxy that keeps cutting the stream (every message exactly once, in order, whichever way the client
reconnects)."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.proxy import CuttingProxy
from tests.streams import StreamReader
from tests.support import (
    Browser,
    find_thread,
    iter_sse,
    login_admin,
    message_seq,
    message_text,
    start_visitor,
    wait_until,
)

THREAD_RE = re.compile(r'id="thread-(\d+)"')


def unread_badge(admin: Browser, thread: int) -> str | None:
    page = admin.get("/admin/threads").text
    item = page.split(f'id="thread-{thread}"', 1)[1].split("</li>", 1)[0]
    match = re.search(r'class="badge"[^>]*>(\d+)<', item)
    return match.group(1) if match else None


def read_events(server_url: str, cookies, path: str, headers=None, count: int = 1, timeout: float = 10):
    events = []
    with httpx.Client(base_url=server_url, cookies=cookies, timeout=timeout) as http:
        with http.stream("GET", path, headers=headers or {}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert "content-security-policy" in response.headers
            for event in iter_sse(response):
                events.append(event)
                if sum(e.event == "message" for e in events) >= count:
                    break
    return events


def test_replay_after_last_event_id_and_after_param(server):
    visitor = start_visitor(server.url, "Replay")
    for index in range(1, 6):
        assert visitor.post("/chat/messages", {"text": f"m{index}"}).status_code == 303
    cookies = visitor.http.cookies
    events = read_events(server.url, cookies, "/chat/events", {"Last-Event-ID": "2"}, count=3)
    messages = [e for e in events if e.event == "message"]
    assert [e.id for e in messages] == ["3", "4", "5"]
    assert [message_text(e.data) for e in messages] == ["m3", "m4", "m5"]
    assert all(e.data.startswith('<article id="msg-') and message_seq(e.data) == int(e.id) for e in messages)
    # htmx-ext-sse's fresh EventSource: no header, the page's cursor in the URL
    only_after = read_events(server.url, cookies, "/chat/events?after=4", count=1)
    assert [e.id for e in only_after if e.event == "message"] == ["5"]
    # both: the larger wins
    both = read_events(server.url, cookies, "/chat/events?after=1", {"Last-Event-ID": "4"}, count=1)
    assert [e.id for e in both if e.event == "message"] == ["5"]


def test_stream_refused_without_conversation(server):
    assert httpx.get(server.url + "/chat/events").status_code == 204
    forged = httpx.get(server.url + "/chat/events", cookies={"sohbet_visitor": "abc.def"})
    assert forged.status_code == 204
    assert httpx.get(server.url + "/admin/events").status_code == 204


def test_visitor_streams_are_isolated(server):
    alice = start_visitor(server.url, "Alice")
    bob = start_visitor(server.url, "Bob")
    reader = StreamReader(server.url, "/chat/events", bob.http.cookies)
    reader.start()
    try:
        reader.wait_for_event("control")
        alice.post("/chat/messages", {"text": "alice secret"})
        bob.post("/chat/messages", {"text": "bob hello"})
        messages = reader.wait_for_messages(1)
        assert [message_text(m.data) for m in messages] == ["bob hello"]
        assert all("alice secret" not in e.data for e in reader.events)
    finally:
        reader.stop()


def test_keepalive_comment(make_server):
    fast = make_server("keepalive", SSE_PING_SECONDS="1")
    visitor = start_visitor(fast.url)
    with httpx.Client(base_url=fast.url, cookies=visitor.http.cookies, timeout=10) as http:
        with http.stream("GET", "/chat/events") as response:
            comments = 0
            for line in response.iter_lines():
                if line.startswith(":"):
                    comments += 1
                    break
    assert comments == 1


def test_admin_stream_lists_notifies_and_delivers(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Deniz")
    visitor.post("/chat/messages", {"text": "first"})
    thread = find_thread(admin, "Deniz")
    reader = StreamReader(server.url, f"/admin/events?thread={thread}&after=1", admin.http.cookies)
    reader.start()
    try:
        reader.wait_for_event("threads")  # sent on every (re)connect: the list resyncs
        start = len(reader.events)
        assert unread_badge(admin, thread) == "1"
        visitor.post("/chat/messages", {"text": "second"})
        messages = reader.wait_for_messages(1)
        assert [message_text(m.data) for m in messages] == ["second"]
        reader.wait_for_event("notify", start=start)
        # It reached the open conversation on screen, so it counts as read.
        wait_until(lambda: unread_badge(admin, thread) is None, message="unread cleared")
        admin.post(f"/admin/threads/{thread}/messages", {"text": "reply"})
        assert message_text(reader.wait_for_messages(2)[-1].data) == "reply"
    finally:
        reader.stop()


def test_clear_is_replayed_to_a_reconnecting_visitor(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Clearme")
    visitor.post("/chat/messages", {"text": "one"})
    visitor.post("/chat/messages", {"text": "two"})
    thread = find_thread(admin, "Clearme")
    assert admin.post(f"/admin/threads/{thread}/clear", {"confirm": "yes"}).status_code == 303
    visitor.post("/chat/messages", {"text": "three"})
    events = read_events(server.url, visitor.http.cookies, "/chat/events", {"Last-Event-ID": "2"}, count=1)
    ids = [(e.event, e.id) for e in events if e.id]
    assert ids == [("control", "3"), ("message", "4")]
    assert 'hx-swap-oob="innerHTML"' in next(e.data for e in events if e.id == "3")


@pytest.mark.parametrize(("mode", "typing"), [("native", False), ("htmx", False), ("mixed", False), ("mixed", True)])
def test_burst_through_cutting_proxy_exactly_once_in_order(server, mode, typing):
    """≥ 1,000 messages from both sides while a proxy keeps cutting the visitor's and the admin's streams; with
    `typing`, both sides also keep posting "typing" (SPEC §10): id-less events interleaved with the messages."""
    total_visitor, total_admin = 700, 300
    admin = login_admin(server)
    name = f"Burst-{mode}" + ("-typing" if typing else "")
    visitor = start_visitor(server.url, name)
    thread = find_thread(admin, name)
    proxy = CuttingProxy(server.port, seed={"native": 1, "htmx": 2, "mixed": 3}[mode] + 10 * typing).start()
    visitor_reader = StreamReader(proxy.url, "/chat/events", visitor.http.cookies, mode=mode)
    admin_reader = StreamReader(proxy.url, f"/admin/events?thread={thread}", admin.http.cookies, mode=mode)
    visitor_reader.start()
    admin_reader.start()
    sent: set[str] = set()
    clients: list[Browser] = []
    local = threading.local()  # a client per pool thread and side: a new client per message cost most of the time

    def client_for(side: str) -> Browser:
        if not hasattr(local, side):
            source = visitor if side == "visitor" else admin
            client = Browser(server.url, cookies=source.http.cookies)
            client.csrf_token = source.csrf_token
            if side == "visitor":
                client.http.cookies.set("csrftoken", visitor.http.cookies.get("csrftoken"))
            setattr(local, side, client)
            clients.append(client)
        return getattr(local, side)

    try:

        def post(index: int) -> None:
            text = f"{mode}-{index}"
            if index < total_visitor:
                response = client_for("visitor").post("/chat/messages", {"text": text})
            else:
                response = client_for("admin").post(f"/admin/threads/{thread}/messages", {"text": text})
            assert response.status_code == 303, response.text[:500]
            sent.add(text)

        burst_over = threading.Event()
        typed = {"visitor": 0, "admin": 0}

        def keep_typing() -> None:
            while not burst_over.is_set():
                if client_for("visitor").post("/chat/typing", {"text": "draft"}).status_code == 204:
                    typed["visitor"] += 1
                if client_for("admin").post(f"/admin/threads/{thread}/typing", {}).status_code == 204:
                    typed["admin"] += 1
                time.sleep(0.05)

        with ThreadPoolExecutor(max_workers=9) as pool:
            typist = pool.submit(keep_typing) if typing else None
            list(pool.map(post, range(total_visitor + total_admin)))
            burst_over.set()
            if typist is not None:
                typist.result()
        total = total_visitor + total_admin
        for reader in (visitor_reader, admin_reader):
            messages = reader.wait_for_messages(total, timeout=120)
            seqs = [int(m.id) for m in messages]
            assert seqs == list(range(1, total + 1)), "lost, duplicated or reordered"
            assert {message_text(m.data) for m in messages} == sent
            assert reader.connects > 5, f"the proxy should have cut the stream (connects={reader.connects})"
            if typing:
                live = [e for e in reader.events if e.event == "typing"]
                assert live and all(e.id is None for e in live), "typing events flowed, without ids"
                assert all(e.id is not None for e in reader.events if e.event == "message")
        print(
            f"\n[{mode}] {total} messages; visitor reconnects {visitor_reader.connects - 1}, "
            f"admin reconnects {admin_reader.connects - 1}; proxy cuts {proxy.cuts}"
            + (f"; typing posts {typed}" if typing else "")
        )
    finally:
        for client in clients:
            client.close()
        visitor_reader.stop()
        admin_reader.stop()
        proxy.stop()


def test_shutdown_ends_open_streams_cleanly(make_server):
    server = make_server("shutdown")
    visitor = start_visitor(server.url, "Shutdown")
    admin = login_admin(server)
    readers = [
        StreamReader(server.url, "/chat/events", visitor.http.cookies),
        StreamReader(server.url, "/admin/events", admin.http.cookies),
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.wait_for_event("control" if reader.path == "/chat/events" else "threads")
    started = time.monotonic()
    returncode = server.stop()  # SIGTERM with streams open
    elapsed = time.monotonic() - started
    for reader in readers:
        reader.stop()
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete, hence -15.
    assert returncode in (0, -15), server.stderr()[-2000:]
    assert elapsed < 8, f"shutdown took {elapsed:.1f}s with streams open"
    stderr = server.stderr()
    assert "Application shutdown complete" in stderr
    assert "Traceback" not in stderr and "without completing response" not in stderr
