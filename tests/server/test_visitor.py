"""Visitor routes over HTTP: start, send, come back, end; bad input; isolation between visitors."""

from __future__ import annotations

import re

from tests.support import Browser, start_visitor

MSG_RE = re.compile(r'<article id="msg-(\d+)" class="[^"]*" data-sender="(\w+)" data-seq="(\d+)"')


def messages_on(page: str) -> list[tuple[str, str, str]]:
    block = page.split('id="messages"', 1)[1].split("</div>\n", 1)[0] if 'id="messages"' in page else ""
    return MSG_RE.findall(page) if block is not None else []


def test_start_form_shown_without_conversation(server):
    visitor = Browser(server.url)
    page = visitor.get("/")
    assert page.status_code == 200
    assert 'action="/chat/start"' in page.text
    assert 'name="display_name"' in page.text
    assert 'id="messages"' not in page.text


def test_start_send_and_come_back(server):
    visitor = start_visitor(server.url, "Ayşe")
    cookie = visitor.http.cookies.get("sohbet_visitor")
    assert cookie and "." in cookie
    response = visitor.post("/chat/messages", {"text": "  Merhaba, siparişim nerede?  "})
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = visitor.get("/").text
    assert 'id="messages"' in page and 'aria-live="polite"' in page
    found = messages_on(page)
    assert [(sender, seq) for _, sender, seq in found] == [("visitor", "1")]
    assert "Merhaba, siparişim nerede?" in page
    assert '<noscript><meta http-equiv="refresh"' in page
    # Same browser, later: same conversation.
    again = Browser(server.url)
    again.http.cookies.set("sohbet_visitor", cookie)
    assert "Merhaba, siparişim nerede?" in again.get("/").text


def test_htmx_send_returns_fresh_composer(server):
    visitor = start_visitor(server.url)
    response = visitor.post("/chat/messages", {"text": "via htmx"}, htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<form id="composer"')
    assert "via htmx" not in response.text  # the field is cleared; the message arrives over SSE
    assert "via htmx" in visitor.get("/").text


def test_htmx_start_returns_chat_fragment(server):
    visitor = Browser(server.url)
    visitor.get("/")
    response = visitor.post("/chat/start", {"display_name": "Can"}, htmx=True)
    assert response.status_code == 200
    assert 'sse-connect="/chat/events?after=0"' in response.text
    assert "<html" not in response.text
    assert visitor.http.cookies.get("sohbet_visitor")


def test_display_name_rules(server):
    # empty -> localized "Visitor"
    visitor = start_visitor(server.url, "   ")
    visitor.post("/chat/messages", {"text": "hi"})
    assert "Visitor" in visitor.get("/").text
    # Turkish default when the browser prefers Turkish
    turkish = Browser(server.url, headers={"Accept-Language": "tr-TR,tr;q=0.9,en;q=0.5"})
    turkish.get("/")
    turkish.post("/chat/start", {"display_name": ""})
    turkish.post("/chat/messages", {"text": "selam"})
    assert "Ziyaretçi" in turkish.get("/").text
    # control characters and bidi overrides removed
    sneaky = start_visitor(server.url, "Bo\x00b\u202e\x07by")
    sneaky.post("/chat/messages", {"text": "x"})
    assert "Bobby" in sneaky.get("/").text
    # too long -> 422 with a clear message, nothing created
    long_name = Browser(server.url)
    long_name.get("/")
    response = long_name.post("/chat/start", {"display_name": "x" * 51})
    assert response.status_code == 422
    assert "too long" in response.text
    assert not long_name.http.cookies.get("sohbet_visitor")


def test_message_validation_keeps_text(server):
    visitor = start_visitor(server.url)
    empty = visitor.post("/chat/messages", {"text": " \n\t "})
    assert empty.status_code == 422 and "Write a message first" in empty.text
    too_long = visitor.post("/chat/messages", {"text": "y" * 4001}, htmx=True)
    assert too_long.status_code == 422
    assert "too long" in too_long.text and "y" * 4001 in too_long.text  # nothing the visitor typed is lost
    exactly = visitor.post("/chat/messages", {"text": "z" * 4000})
    assert exactly.status_code == 303
    controls = visitor.post("/chat/messages", {"text": "a\x00b\x1bc"})
    assert controls.status_code == 303
    page = visitor.get("/").text
    assert "abc" in page and "\x00" not in page and "\x1b" not in page


def test_post_without_conversation(server):
    stranger = Browser(server.url)
    stranger.get("/")
    response = stranger.post("/chat/messages", {"text": "hello?"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    htmx = stranger.post("/chat/messages", {"text": "hello?"}, htmx=True)
    assert htmx.status_code == 409 and "Start one first" in htmx.text


def test_end_chat_forgets_cookie(server):
    visitor = start_visitor(server.url)
    visitor.post("/chat/messages", {"text": "bye"})
    response = visitor.post("/chat/end", {"confirm": "yes"})
    assert response.status_code == 200 and "Chat ended" in response.text
    assert 'sohbet_visitor=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert 'action="/chat/start"' in visitor.get("/").text


def test_language_switch(server):
    visitor = Browser(server.url)
    response = visitor.get("/lang/tr?next=/")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "Bize yazın" in visitor.get("/").text
    evil = visitor.get("/lang/en?next=//evil.example")
    assert evil.headers["location"] == "/"
    assert "Chat with us" in visitor.get("/").text
