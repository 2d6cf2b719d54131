"""Destructive actions confirm (SPEC §14): clearing a conversation and ending a chat ask first, and nothing is
deleted or ended until the answer carries confirm=yes; the visitor then sees a "chat ended" page with the
conversation, made before their token was revoked."""

from __future__ import annotations

import re

from tests.server.test_embed import Frame
from tests.support import Browser, find_thread, login_admin, start_visitor

HIDDEN_CONFIRM = '<input type="hidden" name="confirm" value="yes">'


def form_of(page: str, action: str) -> str:
    found = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>.*?</form>', page, re.S)
    assert found, f"no form posting to {action}"
    return found.group(0)


def test_clearing_a_conversation_asks_first_and_deletes_only_with_confirm_yes(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Careful")
    visitor.post("/chat/messages", {"text": "keep me"})
    thread = find_thread(admin, "Careful")
    action = f"/admin/threads/{thread}/clear"

    header = form_of(admin.get(f"/admin/threads/{thread}").text, action)
    assert 'data-confirm="Clear the conversation with Careful?"' in header  # the dialog's question, with JS
    assert 'class="small quiet-danger"' in header and HIDDEN_CONFIRM not in header  # no JS: the server asks

    for data in ({}, {"confirm": "no"}, {"confirm": "YES "}):
        asked = admin.post(action, data)
        assert asked.status_code == 200, (data, asked.status_code)
        assert "Clear the conversation with Careful?" in asked.text and "cannot be undone" in asked.text
        assert HIDDEN_CONFIRM in form_of(asked.text, action)
        assert f'href="/admin/threads/{thread}"' in asked.text  # cancel: back to the conversation
        assert f'next=/admin/threads/{thread}"' in asked.text  # the language link too, not to /clear
    assert "keep me" in admin.get(f"/admin/threads/{thread}").text
    assert "keep me" in visitor.get("/").text

    admin.get(f"/lang/tr?next=/admin/threads/{thread}")
    assert "Careful ile sohbet temizlensin mi?" in admin.post(action).text
    admin.get("/lang/en?next=/admin")

    cleared = admin.post(action, {"confirm": "yes"})
    assert cleared.status_code == 303 and cleared.headers["location"] == f"/admin/threads/{thread}"
    assert "keep me" not in admin.get(f"/admin/threads/{thread}").text
    assert "keep me" not in visitor.get("/").text
    assert admin.post("/admin/threads/999999/clear", {"confirm": "yes"}).status_code == 404


def test_ending_a_chat_asks_first_then_shows_the_ended_page_with_the_conversation(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Leaving")
    visitor.post("/chat/messages", {"text": "first words"})
    thread = find_thread(admin, "Leaving")
    admin.post(f"/admin/threads/{thread}/messages", {"text": "see https://example.com/help"})

    header = form_of(visitor.get("/").text, "/chat/end")
    assert 'data-confirm="End this chat?"' in header and 'hx-post="/chat/end"' in header
    assert HIDDEN_CONFIRM not in header

    asked = visitor.post("/chat/end")
    assert asked.status_code == 200 and "End this chat?" in asked.text and "<html" in asked.text
    assert HIDDEN_CONFIRM in form_of(asked.text, "/chat/end") and "Keep chatting" in asked.text
    assert "set-cookie" not in asked.headers or "sohbet_visitor" not in asked.headers["set-cookie"]
    assert visitor.post("/chat/messages", {"text": "still chatting"}).status_code == 303  # nothing ended
    assert "still chatting" in visitor.get("/").text

    ended = visitor.post("/chat/end", {"confirm": "yes"})
    assert ended.status_code == 200 and "Chat ended" in ended.text and "You ended this conversation." in ended.text
    assert 'sohbet_visitor=""' in ended.headers["set-cookie"] or "Max-Age=0" in ended.headers["set-cookie"]
    assert 'href="/">Start a new chat</a>' in ended.text and 'next=/"' in ended.text  # not next=/chat/end
    transcript = ended.text.split('class="messages transcript"', 1)[1]
    assert transcript.index("first words") < transcript.index("example.com") < transcript.index("still chatting")
    assert 'href="https://example.com/help"' in transcript and "Leaving" in transcript and "Support" in transcript
    assert 'id="chat"' not in ended.text and "sse-connect" not in ended.text  # a late stream notice finds no #chat

    assert 'action="/chat/start"' in visitor.get("/").text  # the cookie is gone
    page = admin.get(f"/admin/threads/{thread}").text
    assert "The visitor ended the chat." in page


def test_ending_with_htmx_answers_partials_and_in_the_widget_leads_back_to_it(server):
    visitor = start_visitor(server.url, "Quick")
    visitor.post("/chat/messages", {"text": "short visit"})
    asked = visitor.post("/chat/end", htmx=True)
    assert asked.status_code == 200 and "End this chat?" in asked.text and "<html" not in asked.text
    ended = visitor.post("/chat/end", {"confirm": "yes"}, htmx=True)
    assert ended.status_code == 200 and ended.text.lstrip().startswith('<section id="ended"')
    assert "short visit" in ended.text and "Max-Age=0" in ended.headers["set-cookie"]

    widget = Frame(server)  # keeps the widget's partitioned cookies, as the iframe does
    try:
        widget.get("/embed")
        assert widget.post("/chat/start?embed=1", {"display_name": "Framed"}).status_code == 303
        widget.post("/chat/messages?embed=1", {"text": "from the widget"})
        asked = widget.post("/chat/end?embed=1", {})
        assert HIDDEN_CONFIRM in form_of(asked.text, "/chat/end?embed=1") and 'href="/embed"' in asked.text
        ended = widget.post("/chat/end?embed=1", {"confirm": "yes"})
        assert ended.status_code == 200 and 'href="/embed">Start a new chat</a>' in ended.text
        assert "from the widget" in ended.text and "sohbet_visitor" not in widget.jar
    finally:
        widget.close()


def test_ending_without_a_conversation_goes_home_as_before(server):
    stranger = Browser(server.url)
    stranger.get("/")
    for data in ({}, {"confirm": "yes"}):
        response = stranger.post("/chat/end", data)
        assert response.status_code == 303 and response.headers["location"] == "/"
    partial = stranger.post("/chat/end", {"confirm": "yes"}, htmx=True)  # a stale tab: the start form, in place
    assert partial.status_code == 200 and 'action="/chat/start"' in partial.text and "<html" not in partial.text
