"""Ratings and reports (SPEC §10) through a real server: the visitor rates a resolved conversation without
JavaScript (plain form, 303, the thanks on the page) or with htmx, once per resolution (409 the second time, and
for a conversation not resolved), never another visitor's (403), a bad score 422 with the comment kept; again
after a reopen and a second resolution; the agent sees the ratings on the conversation. Reports for owners and
agents: the page with its SVG charts and tables, the CSV download equal to those tables, a bad range 422."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime

from tests.server.test_team import agent_session
from tests.support import find_thread, login_admin, sql, start_visitor


def resolve(admin, thread: int) -> None:
    assert admin.post(f"/admin/threads/{thread}/status", {"status": "resolved"}).status_code == 303


def ratings_of(url: str, thread: int) -> list[int]:
    return [r[0] for r in sql(url, "SELECT score FROM rating WHERE conversation = ? ORDER BY id", thread)]


def test_a_visitor_rates_each_resolution_once_without_javascript(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    visitor = start_visitor(server.url, "Rating Ruth")
    assert visitor.post("/chat/messages", {"text": "my parcel is late"}).status_code == 303
    thread = find_thread(owner, "Rating Ruth")
    assert 'id="rating-box"' not in visitor.get("/").text  # open: no form, the page does not grow

    early = visitor.post("/chat/rating", {"score": "5", "comment": "too soon"})
    assert early.status_code == 409 and "not resolved" in early.text
    assert owner.post(f"/admin/threads/{thread}/messages", {"text": "It is on its way"}).status_code == 303
    resolve(owner, thread)
    page = visitor.get("/").text
    assert 'id="rating-box"' in page and 'name="score" value="5"' in page
    assert f'name="conversation" value="{thread}"' in page

    bad = visitor.post("/chat/rating", {"score": "9", "comment": "kept text"})
    assert bad.status_code == 422 and "from 1 to 5" in bad.text and "kept text</textarea>" in bad.text
    done = visitor.post("/chat/rating", {"score": "5", "comment": "Fast & kind", "conversation": str(thread)})
    assert done.status_code == 303 and done.headers["location"] == "/"
    thanks = visitor.get("/").text
    assert "Thank you for rating this conversation (5 of 5)." in thanks and 'name="score"' not in thanks
    assert ratings_of(url, thread) == [5]

    again = visitor.post("/chat/rating", {"score": "1", "comment": "second try"})
    assert again.status_code == 409 and "already rated" in again.text
    as_json = visitor.post("/chat/rating", {"score": "1"}, headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.json()["success"] is False and "already" in as_json.json()["error"]
    assert ratings_of(url, thread) == [5]

    view = owner.get(f"/admin/threads/{thread}").text
    assert 'class="rating-chip" data-score="5"' in view and "Resolution 1: 5 of 5" in view
    assert "<q>Fast &amp; kind</q>" in view

    # Reopened by the visitor, resolved again: the new resolution can be rated (with htmx this time).
    assert visitor.post("/chat/messages", {"text": "one more question"}).status_code == 303
    assert 'id="rating-box"' not in visitor.get("/").text
    resolve(owner, thread)
    swapped = visitor.post("/chat/rating", {"score": "3"}, htmx=True)
    assert swapped.status_code == 200 and swapped.text.lstrip().startswith('<div id="rating-box"')
    assert "(3 of 5)" in swapped.text
    assert ratings_of(url, thread) == [5, 3]
    resolutions = "SELECT number, resolved_by FROM resolution WHERE conversation = ? ORDER BY id"
    assert sql(url, resolutions, thread) == [(1, "admin"), (2, "admin")]


def test_another_visitors_conversation_is_refused(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    ruth = start_visitor(server.url, "Owner Olga")
    assert ruth.post("/chat/messages", {"text": "hello"}).status_code == 303
    thread = find_thread(owner, "Owner Olga")
    resolve(owner, thread)
    mallory = start_visitor(server.url, "Mallory")
    assert mallory.post("/chat/messages", {"text": "hi"}).status_code == 303
    resolve(owner, find_thread(owner, "Mallory"))
    forged = mallory.post("/chat/rating", {"score": "1", "conversation": str(thread)})
    assert forged.status_code == 403 and "not your conversation" in forged.text
    stranger = start_visitor(server.url, "Nobody Yet")
    stranger.http.cookies.clear()
    assert stranger.post("/chat/rating", {"score": "1"}).status_code == 403
    assert ratings_of(url, thread) == []


def cells(page: str, table_id: str) -> list[list[str]]:
    """The rows of an HTML table (header row first), as text."""
    table = page.split(f'<table id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def test_reports_page_and_csv_show_the_same_tables(server):
    owner = login_admin(server)
    agent = agent_session(server, owner, "rita", "Rita")
    visitor = start_visitor(server.url, "Report Rob")
    assert visitor.post("/chat/messages", {"text": "question"}).status_code == 303
    thread = find_thread(owner, "Report Rob")
    assert agent.post(f"/admin/threads/{thread}/messages", {"text": "answer"}).status_code == 303
    resolve(agent, thread)
    assert visitor.post("/chat/rating", {"score": "4"}).status_code == 303

    today = datetime.now(UTC).date().isoformat()
    assert 'href="/admin/reports"' in agent.get("/admin").text  # the dashboard bar links it, for agents too
    page = agent.get(f"/admin/reports?from={today}&to={today}")
    assert page.status_code == 200
    text = page.text
    main = text.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    assert main.count("<svg") == 3 and '<title id="chart-conversations-title">' in main and "<script" not in main
    agents = cells(text, "report-agents")
    rita = next(row for row in agents if row[0] == "rita")
    assert rita[1:3] == ["1", "1"] and rita[4:] == ["1", "1", "4.00"]

    download = owner.get(f"/admin/reports?from={today}&to={today}&format=csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == f'attachment; filename="sohbet-report-{today}-{today}.csv"'
    sections = download.text.split("\r\n\r\n")
    tables = ["report-summary", "report-days", "report-agents", "report-ratings"]
    assert len(sections) == len(tables)
    for section, table_id in zip(sections, tables, strict=True):
        assert list(csv.reader(io.StringIO(section))) == cells(text, table_id)

    as_json = agent.get(f"/api/reports?from={today}&to={today}").json()
    assert (as_json["success"], as_json["start"], as_json["end"]) == (True, today, today)
    by_name = {table["name"]: table for table in as_json["tables"]}
    assert by_name["per_agent"]["columns"][:3] == ["agent", "answered", "first_responses"]
    assert ["rita", *rita[1:]] in by_name["per_agent"]["rows"]
    assert [row for row in by_name["per_day"]["rows"]] == [r for r in cells(text, "report-days")[1:]]
    refused = agent.get("/api/reports?from=2026-12-05&to=2026-12-01")
    assert refused.status_code == 422 and "must not be after" in refused.json()["error"]

    for query, reason in [
        ("from=2026-02-30", "YYYY-MM-DD"),
        ("from=2026-12-05&to=2026-12-01", "must not be after"),
        ("from=2020-01-01&to=2026-12-01", "at most 366 days"),
        ("format=pdf", "csv"),
    ]:
        refused = owner.get(f"/admin/reports?{query}")
        assert refused.status_code == 422 and reason in refused.text, query
    kept = owner.get("/admin/reports?from=2026-12-05&to=2026-12-01").text
    assert 'value="2026-12-05"' in kept and 'value="2026-12-01"' in kept
