"""Agents' private notes (SPEC §10) through a real server: the composer's `kind=note`, shown to agents only
(`data-sender="note"`), never on the visitor's page, stream, transcripts or the JSON API, never counted as unread,
never the list's preview, never reopening a conversation; the visitor's stream replays past a note exactly once."""

from __future__ import annotations

import re

from tests.server.test_api import api_login
from tests.server.test_assignment import rows
from tests.server.test_events import read_events
from tests.streams import StreamReader
from tests.support import find_thread, login_admin, message_text, sql, start_visitor

NOTE_RE = re.compile(
    r'<article id="msg-\d+" class="msg" data-sender="note" data-author="admin"[^>]*>.*?</article>', re.S
)


def note_count(url: str) -> int:
    return sql(url, "SELECT count(*) FROM message WHERE sender = 'note'")[0][0]


def test_a_note_is_for_agents_only(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    visitor = start_visitor(server.url, "Notes")
    visitor.post("/chat/messages", {"text": "hello"})
    thread = find_thread(owner, "Notes")
    posted = f"/admin/threads/{thread}/messages"
    page = owner.get(f"/admin/threads/{thread}").text
    assert 'name="kind" value="note"' in page and 'name="kind"' not in visitor.get("/").text
    assert owner.post(posted, {"text": "public reply"}).status_code == 303
    assert owner.post(posted, {"text": "secret one", "kind": "note"}).status_code == 303  # no JavaScript
    fragment = owner.post(posted, {"text": "secret two", "kind": "note"}, htmx=True)
    assert fragment.status_code == 200 and 'id="composer"' in fragment.text
    assert sql(url, "SELECT sender, author FROM message WHERE sender = 'note'") == [("note", "admin")] * 2

    notes = NOTE_RE.findall(owner.get(f"/admin/threads/{thread}").text)
    assert len(notes) == 2 and "secret one" in notes[0] and 'class="note-tag"' in notes[0]
    for seen in (
        visitor.get("/").text,
        visitor.get("/chat/transcript").text,
        visitor.get("/chat/transcript?format=html").text,
        owner.get(f"/admin/threads/{thread}/transcript").text,  # transcripts never hold notes, agents' neither
    ):
        assert "public reply" in seen and "secret" not in seen
    api = api_login(server)
    listed = api.get(f"/api/messages/{thread}").json()["messages"]
    assert [m["text"] for m in listed] == ["hello", "public reply"]
    counted = {t["id"]: t["message_count"] for t in api.get("/api/threads").json()["threads"]}
    assert counted[thread] == 2

    # Not unread, not the list's preview, no reopening.
    item = owner.get("/admin/threads").text.split(f'id="thread-{thread}"', 1)[1].split("</li>", 1)[0]
    assert "public reply" in item and "secret" not in item
    assert sql(url, "SELECT unread_count, last_sender FROM conversation WHERE id = ?", thread) == [(1, "admin")]
    owner.post(f"/admin/threads/{thread}/status", {"status": "resolved"})
    owner.post(posted, {"text": "after resolving", "kind": "note"})
    assert rows(owner, "?status=resolved")[thread][0] == "resolved"

    ended = visitor.post("/chat/end", {"confirm": "yes"})  # the ended page shows the conversation read-only
    assert ended.status_code == 200 and "public reply" in ended.text and "secret" not in ended.text


def test_a_bad_kind_or_empty_note_is_refused_and_stores_nothing(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    start_visitor(server.url, "Kinds").post("/chat/messages", {"text": "hi"})
    thread = find_thread(owner, "Kinds")
    before = sql(url, "SELECT count(*) FROM message")
    refused = owner.post(f"/admin/threads/{thread}/messages", {"text": "kept words", "kind": "shout"}, htmx=True)
    assert refused.status_code == 422 and "Choose a reply or a private note" in refused.text
    assert "kept words" in refused.text
    empty = owner.post(f"/admin/threads/{thread}/messages", {"text": "  ", "kind": "note"}, htmx=True)
    assert empty.status_code == 422
    assert sql(url, "SELECT count(*) FROM message") == before


def test_the_visitor_stream_moves_past_notes_and_replays_exactly_once(server):
    owner = login_admin(server)
    visitor = start_visitor(server.url, "Streamed")
    visitor.post("/chat/messages", {"text": "m1"})  # seq 1
    thread = find_thread(owner, "Streamed")
    posted = f"/admin/threads/{thread}/messages"
    owner.post(posted, {"text": "quietword", "kind": "note"})  # seq 2
    owner.post(posted, {"text": "r3"})  # seq 3
    visitor.post("/chat/messages", {"text": "m4"})  # seq 4
    cookies = visitor.http.cookies
    for cursor in ("1", "2"):  # before the note, and the note's own number
        events = read_events(server.url, cookies, "/chat/events", {"Last-Event-ID": cursor}, count=2)
        messages = [e for e in events if e.event == "message"]
        assert [(e.id, message_text(e.data)) for e in messages] == [("3", "r3"), ("4", "m4")]
        assert not any("quietword" in e.data for e in events)

    # Live: a note then a reply; the visitor gets the reply (seq 6) alone, the agent's stream both.
    visitor_reader = StreamReader(server.url, "/chat/events", cookies, after=4)
    agent_reader = StreamReader(server.url, f"/admin/events?thread={thread}", owner.http.cookies, after=4)
    visitor_reader.start()
    agent_reader.start()
    try:
        visitor_reader.wait_for_event("control")
        agent_reader.wait_for_event("threads")
        owner.post(posted, {"text": "live note", "kind": "note"})
        owner.post(posted, {"text": "r6"})
        got = visitor_reader.wait_for_messages(1)
        assert [(m.id, message_text(m.data)) for m in got] == [("6", "r6")]
        agent_got = agent_reader.wait_for_messages(2)
        assert [m.id for m in agent_got] == ["5", "6"] and 'data-sender="note"' in agent_got[0].data
        visitor.post("/chat/messages", {"text": "m7"})
        later = visitor_reader.wait_for_messages(2)
        assert [m.id for m in later] == ["6", "7"]
        assert not any("live note" in e.data for e in visitor_reader.events)
    finally:
        visitor_reader.stop()
        agent_reader.stop()
