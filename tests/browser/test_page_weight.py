"""SPEC §7: everything a cold visitor downloads, compressed, is at most 25 KB — the start form, and an open
conversation of 20 messages (10 each way) with its stream's first events. Measured as the benchmark does
(benchmarks/pageweight.py: Chromium's bytes on the wire, headers included, a fresh context per load)."""

from __future__ import annotations

import pytest

from benchmarks import pageweight
from tests.support import find_thread, login_admin, start_visitor

pytestmark = pytest.mark.browser

BUDGET = 25 * 1024


def test_visitor_page_within_25_kb(server, chromium_browser):
    visitor = start_visitor(server.url, "Page Weight")
    admin = login_admin(server)
    thread = find_thread(admin, "Page Weight")
    for i in range(10):
        assert visitor.post("/chat/messages", {"text": f"Hello, this is question number {i + 1}."}).status_code in (
            200,
            303,
        )
        answer = {"text": f"Thanks! Here is answer {i + 1}, with a link: https://example.com/help/{i}"}
        assert admin.post(f"/admin/threads/{thread}/messages", answer).status_code in (200, 303)
    cookies = [
        {"name": name, "value": value, "domain": "127.0.0.1", "path": "/"}
        for name, value in visitor.http.cookies.items()
        if name == "sohbet_visitor"
    ]
    visitor.close()
    admin.close()
    start = pageweight.cold(chromium_browser, server.url + "/", server.url)
    chat = pageweight.cold(chromium_browser, server.url + "/", server.url, cookies)
    assert len(chat["requests"]) == 4, chat["requests"]  # the page, one stylesheet, one script, the stream
    assert any(r["url"].startswith("/chat/events") for r in chat["requests"])
    assert all(r["encoding"] == "gzip" for r in chat["requests"] if r["kind"] != "other"), chat["requests"]
    for load in (start, chat):
        assert load["total_bytes"] <= BUDGET, (load["total_bytes"], load["requests"])
