"""Several server processes on one PostgreSQL database (LISTEN/NOTIFY), against real uvicorn subprocesses:
a conversation shared across processes, a 1,000-message burst through proxies that keep cutting the streams,
presence across processes, and — last, because it disturbs everything else on this PostgreSQL — a database
restart that the LISTEN connection and the pool must survive without losing or repeating a message."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.proxy import CuttingProxy
from tests.streams import StreamReader, open_reader
from tests.support import (
    BACKEND,
    Browser,
    Server,
    can_control_postgres,
    find_thread,
    login_admin,
    message_seq,
    message_text,
    pg_accepts_connections,
    pg_ctl,
    start_visitor,
    wait_until,
)

if BACKEND != "postgres":
    pytest.skip(
        "multi-process LISTEN/NOTIFY tests need PostgreSQL: run with SOHBET_TEST_DB=postgres",
        allow_module_level=True,
    )


# -- helpers -----------------------------------------------------------------------------------------------


def presence_dot(admin: Browser, thread: int) -> str:
    page = admin.get("/admin/threads").text
    item = page.split(f'id="thread-{thread}"', 1)[1].split("</li>", 1)[0]
    return re.search(r'class="dot (online|offline)"', item).group(1)


def support_status(page_html: str) -> str:
    return re.search(r'class="support-status (online|offline)"', page_html).group(1)


def clone(browser: Browser, base_url: str) -> Browser:
    """Another client with the same cookies and CSRF token (sessions and CSRF work on every process)."""
    client = Browser(base_url, cookies=browser.http.cookies)
    client.csrf_token = browser.csrf_token
    client.http.cookies.set("csrftoken", browser.http.cookies.get("csrftoken"))
    return client


def assert_exactly_once_in_order(reader: StreamReader, expected_texts: list[str] | set[str]) -> None:
    seqs = [int(m.id) for m in reader.messages]
    assert seqs == list(range(1, len(expected_texts) + 1)), f"lost, duplicated or reordered on {reader.path}"
    assert all(message_seq(m.data) == int(m.id) for m in reader.messages)
    texts = [message_text(m.data) for m in reader.messages]
    if isinstance(expected_texts, list):
        assert texts == expected_texts
    else:
        assert len(set(texts)) == len(texts) and set(texts) == expected_texts


def ready_state(server: Server) -> tuple[int, str]:
    try:
        response = httpx.get(server.url + "/health/ready", timeout=2)
    except httpx.HTTPError:
        return 0, "unreachable"
    try:
        broker = response.json().get("checks", {}).get("broker", "?")
    except ValueError:
        broker = "?"
    return response.status_code, broker


def fully_ready(server: Server) -> bool:
    return ready_state(server) == (200, "ok")


# -- two processes, one database ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(make_server: Callable[..., Server]) -> tuple[Server, Server]:
    """Servers A and B on one freshly migrated database (created, migrated and dropped by make_server for A).
    Short pings so that a closed reader really disconnects within a second."""
    a = make_server("pg-a", SSE_PING_SECONDS="1")
    shared = {key: a.env[key] for key in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS")}
    b = make_server("pg-b", SSE_PING_SECONDS="1", **shared)
    assert a.port != b.port
    wait_until(lambda: fully_ready(a) and fully_ready(b), timeout=15, message="both brokers listening")
    return a, b


def test_two_processes_share_one_conversation(pair):
    a, b = pair
    visitor = start_visitor(a.url, "Cross")
    assert visitor.post("/chat/messages", {"text": "hello from A"}).status_code == 303
    admin = login_admin(b)  # the session lives in the database; the CSRF token is signed with SECRET_KEY
    thread = find_thread(admin, "Cross")
    visitor_reader = open_reader(a.url, "/chat/events", visitor.http.cookies)
    admin_reader = open_reader(b.url, f"/admin/events?thread={thread}", admin.http.cookies)
    try:
        assert [message_text(m.data) for m in visitor_reader.wait_for_messages(1)] == ["hello from A"]
        assert [message_text(m.data) for m in admin_reader.wait_for_messages(1)] == ["hello from A"]
        notify_from = len(admin_reader.events)

        # admin replies on B -> the visitor's stream on A (NOTIFY from B's transaction, LISTEN on A)
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": "reply from B"}).status_code == 303
        messages = visitor_reader.wait_for_messages(2)
        assert [(m.id, message_text(m.data)) for m in messages] == [("1", "hello from A"), ("2", "reply from B")]

        # visitor posts on A -> the admin's stream on B, with the new-message notification
        assert visitor.post("/chat/messages", {"text": "again from A"}).status_code == 303
        messages = admin_reader.wait_for_messages(3)
        assert [(m.id, message_text(m.data)) for m in messages] == [
            ("1", "hello from A"),
            ("2", "reply from B"),
            ("3", "again from A"),
        ]
        admin_reader.wait_for_event("notify", start=notify_from)
        assert visitor_reader.wait_for_messages(3)[-1].id == "3"
        # Delivered live, not by a catch-up on a reconnect.
        assert (visitor_reader.connects, admin_reader.connects) == (1, 1)
        # The admin session and CSRF token from B are accepted by A as well.
        assert clone(admin, a.url).post(f"/admin/threads/{thread}/messages", {"text": "via A"}).status_code == 303
        assert message_text(visitor_reader.wait_for_messages(4)[-1].data) == "via A"
    finally:
        visitor_reader.close()
        admin_reader.close()


def test_presence_across_processes(pair):
    a, b = pair
    admin = login_admin(b)
    visitor = start_visitor(a.url, "Presence")
    thread = find_thread(admin, "Presence")
    assert presence_dot(admin, thread) == "offline"

    # A visitor stream on A: online in the list B renders; gone when the stream closes.
    visitor_reader = open_reader(a.url, "/chat/events", visitor.http.cookies)
    try:
        wait_until(lambda: presence_dot(admin, thread) == "online", message="visitor online on B")
        first_control = next(e for e in visitor_reader.events if e.event == "control")
        assert support_status(first_control.data) == "offline"  # no admin stream is open anywhere yet

        # "Support is online": an admin stream on B, seen by a visitor page on A and pushed to A's stream.
        newcomer = Browser(a.url)
        assert support_status(newcomer.get("/").text) == "offline"
        controls_before = len(visitor_reader.events)
        admin_reader = open_reader(b.url, "/admin/events", admin.http.cookies)
        try:
            wait_until(lambda: support_status(newcomer.get("/").text) == "online", message="support online on A")
            pushed = visitor_reader.wait_for_event("control", start=controls_before)
            assert support_status(pushed.data) == "online"
            controls_before = len(visitor_reader.events)
        finally:
            admin_reader.close()
        wait_until(lambda: support_status(newcomer.get("/").text) == "offline", message="support offline on A")
        pushed = visitor_reader.wait_for_event("control", start=controls_before)
        assert support_status(pushed.data) == "offline"
    finally:
        visitor_reader.close()
    wait_until(lambda: presence_dot(admin, thread) == "offline", message="visitor offline on B")


def test_burst_across_processes_through_cutting_proxies(pair):
    """1,000 messages posted concurrently to A and B (by the visitor and the admin, on both), while proxies keep
    cutting four streams: visitor and admin, each on A and on B, reconnecting in different ways."""
    a, b = pair
    total = 1000
    admin = login_admin(b)
    visitor = start_visitor(a.url, "Burst")
    thread = find_thread(admin, "Burst")
    proxies = {
        name: CuttingProxy(server.port, seed=seed).start() for name, server, seed in (("A", a, 11), ("B", b, 12))
    }
    readers = {
        "visitor@A": StreamReader(proxies["A"].url, "/chat/events", visitor.http.cookies, mode="native"),
        "visitor@B": StreamReader(proxies["B"].url, "/chat/events", visitor.http.cookies, mode="mixed"),
        "admin@A": StreamReader(proxies["A"].url, f"/admin/events?thread={thread}", admin.http.cookies, mode="htmx"),
        "admin@B": StreamReader(proxies["B"].url, f"/admin/events?thread={thread}", admin.http.cookies, mode="native"),
    }
    for reader in readers.values():
        reader.start()
    local = threading.local()
    every_client: list[Browser] = []
    sent: set[str] = set()
    sent_lock = threading.Lock()

    def client(role: str, server: Server) -> Browser:
        """One keep-alive client per worker thread, role and process."""
        key = f"{role}-{server.port}"
        clients = local.__dict__.setdefault("clients", {})
        if key not in clients:
            clients[key] = clone(visitor if role == "visitor" else admin, server.url)
            with sent_lock:
                every_client.append(clients[key])
        return clients[key]

    def post(index: int) -> None:
        # Processes alternate (even -> A, odd -> B); senders: visitor@A, admin@B, admin@A, visitor@B, ...
        server = a if index % 2 == 0 else b
        text = f"burst-{index}"
        if index % 4 in (0, 3):
            response = client("visitor", server).post("/chat/messages", {"text": text})
        else:
            response = client("admin", server).post(f"/admin/threads/{thread}/messages", {"text": text})
        assert response.status_code == 303, response.text[:500]
        with sent_lock:
            sent.add(text)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(post, range(total)))
        assert len(sent) == total
        for reader in readers.values():
            reader.wait_for_messages(total, timeout=180)
        for name, reader in readers.items():
            assert_exactly_once_in_order(reader, sent)
            assert reader.connects > 5, f"the proxy should have cut {name} (connects={reader.connects})"
        print(
            f"\n[postgres burst] {total} messages via A and B; reconnects: "
            + ", ".join(f"{name} {reader.connects - 1}" for name, reader in readers.items())
            + f"; proxy cuts: A {proxies['A'].cuts}, B {proxies['B'].cuts}"
        )
    finally:
        for reader in readers.values():
            reader.stop()
        for reader in readers.values():
            reader.join(10)
        for proxy in proxies.values():
            proxy.stop()
        for browser in every_client:
            browser.close()


# -- keep last: restarts PostgreSQL ------------------------------------------------------------------------


@pytest.mark.skipif(not can_control_postgres(), reason="restarting the local PostgreSQL needs pg_ctlcluster and root")
def test_listener_and_pool_survive_a_postgresql_restart(pair):
    a, b = pair
    admin = login_admin(b)
    visitor = start_visitor(a.url, "Restart")
    thread = find_thread(admin, "Restart")
    visitor_on_b = clone(visitor, b.url)
    admin_on_a = clone(admin, a.url)
    texts: list[str] = []

    def post(client: Browser, path: str, text: str) -> None:
        assert client.post(path, {"text": text}).status_code == 303
        texts.append(text)

    visitor_reader = open_reader(a.url, "/chat/events", visitor.http.cookies)  # native: Last-Event-ID
    admin_reader = open_reader(b.url, f"/admin/events?thread={thread}", admin.http.cookies)
    try:
        post(visitor, "/chat/messages", "before-1 visitor@A")
        post(admin, f"/admin/threads/{thread}/messages", "before-2 admin@B")
        post(visitor_on_b, "/chat/messages", "before-3 visitor@B")
        for reader in (visitor_reader, admin_reader):
            reader.wait_for_messages(3)

        started = time.monotonic()
        pg_ctl("restart")
        wait_until(pg_accepts_connections, timeout=30, interval=0.1, message="PostgreSQL to accept connections")
        wait_until(
            lambda: fully_ready(a) and fully_ready(b),
            timeout=30,
            interval=0.1,
            message=f"/health/ready 200 with broker ok (A {ready_state(a)}, B {ready_state(b)})",
        )
        recovered = time.monotonic() - started

        # The first write after the restart may meet a dead pooled connection: retry it, counting.
        retries = 0
        text = "after-1 admin@B"
        path = f"/admin/threads/{thread}/messages"
        deadline = time.monotonic() + 30
        while True:
            try:
                status = admin.post(path, {"text": text}).status_code
            except httpx.HTTPError:
                status = 0
            if status == 303:
                break
            retries += 1
            assert time.monotonic() < deadline, f"POST on B still failing after the restart ({status})"
            time.sleep(0.1)
        texts.append(text)
        messages = visitor_reader.wait_for_messages(4)
        assert message_text(messages[-1].data) == text

        # A's LISTEN connection is back: a stream on A that is connected (subscribed) *before* a post on B
        # receives it without reconnecting — a catch-up on a new connection would prove nothing.
        wait_until(lambda: visitor_reader.live, timeout=15, message="visitor stream on A connected")
        connects = visitor_reader.connects
        post(admin, path, "after-2 admin@B")
        assert message_text(visitor_reader.wait_for_messages(5)[-1].data) == "after-2 admin@B"
        assert visitor_reader.connects == connects, "delivered by a reconnect, not by A's listener"
        # And B's listener, from A.
        wait_until(lambda: admin_reader.live, timeout=15, message="admin stream on B connected")
        connects = admin_reader.connects
        post(visitor, "/chat/messages", "after-3 visitor@A")
        assert message_text(admin_reader.wait_for_messages(6)[-1].data) == "after-3 visitor@A"
        assert admin_reader.connects == connects, "delivered by a reconnect, not by B's listener"
        post(admin_on_a, path, "after-4 admin@A")

        for reader in (visitor_reader, admin_reader):
            reader.wait_for_messages(len(texts))
        # A fresh stream from zero sees the same history.
        fresh = open_reader(a.url, "/chat/events", visitor.http.cookies)
        try:
            fresh.wait_for_messages(len(texts))
        finally:
            fresh.close()
        for reader in (visitor_reader, admin_reader, fresh):
            assert_exactly_once_in_order(reader, texts)
        print(
            f"\n[postgres restart] healthy again after {recovered:.1f}s; POST retries after the restart: {retries}; "
            f"visitor@A reconnects {visitor_reader.connects - 1} (errors {visitor_reader.errors}), "
            f"admin@B reconnects {admin_reader.connects - 1} (errors {admin_reader.errors}); "
            f"{len(texts)} messages, none lost or repeated"
        )
    finally:
        visitor_reader.close()
        admin_reader.close()
