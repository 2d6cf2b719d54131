"""Conversation status and assignment over HTTP against real servers (SPEC §8): the dashboard's forms (htmx
fragment, 303 without JavaScript, 422 with the reason), the views (`#threads` holds exactly the matching
conversations, each with `data-status` and `data-assignee`), a visitor message reopening, the JSON API's two
calls and its filters, and round robin to the agent whose dashboard is open."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from tests.server.test_api import api_login
from tests.server.test_revocation import OneStream, jar
from tests.server.test_team import agent_session
from tests.support import Browser, Server, find_thread, login_admin, start_visitor, wait_until

ROW = re.compile(r'<li id="thread-(\d+)" class="[^"]*" data-status="([a-z]*)" data-assignee="([^"]*)">')


def rows(admin: Browser, query: str = "") -> dict[int, tuple[str, str]]:
    """The dashboard's list for `query`: {conversation id: (data-status, data-assignee)}."""
    page = admin.get(f"/admin{query}")
    assert page.status_code == 200, page.text
    threads = page.text.split('<ul id="threads"', 1)[1].split("</ul>", 1)[0]
    return {int(i): (status, assignee) for i, status, assignee in ROW.findall(threads)}


@pytest.fixture(scope="module")
def team(server: Server) -> dict[str, Browser]:
    owner = login_admin(server)
    return {"admin": owner, "nur": agent_session(server, owner, "nur", "Nur Demir")}


def new_thread(server: Server, owner: Browser, name: str) -> tuple[Browser, int]:
    visitor = start_visitor(server.url, name)
    visitor.post("/chat/messages", {"text": f"hello from {name}"})
    return visitor, find_thread(owner, name)


def test_status_forms_views_and_a_visitor_reopening(server, team):
    owner, nur = team["admin"], team["nur"]
    visitor, thread = new_thread(server, owner, "Reopener")
    assert rows(owner)[thread] == ("open", "")

    # Without JavaScript: 303 back to the conversation; the views follow.
    done = nur.post(f"/admin/threads/{thread}/status", {"status": "snoozed", "until": "2h"})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/threads/{thread}"
    assert thread not in rows(owner)
    assert rows(owner, "?view=all&status=snoozed")[thread] == ("snoozed", "")
    assert thread not in rows(owner, "?status=resolved")

    # htmx: the conversation header's menu, updated.
    fragment = nur.post(f"/admin/threads/{thread}/status", {"status": "resolved"}, htmx=True)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<details id="triage"') and 'data-status="resolved"' in fragment.text
    assert rows(owner, "?status=resolved")[thread] == ("resolved", "")

    # A new visitor message reopens it.
    visitor.post("/chat/messages", {"text": "one more thing"})
    assert rows(owner)[thread] == ("open", "")


NEXT_RE = re.compile(r'<input type="hidden" name="next" value="([^"]+)">')


def test_the_forms_return_to_the_view_they_were_sent_from(server, team):
    owner, nur = team["admin"], team["nur"]
    _, thread = new_thread(server, owner, "Back to my view")
    assert nur.post(f"/admin/threads/{thread}/assign", {"agent": "me"}).status_code == 303
    page = nur.get(f"/admin/threads/{thread}?view=mine&status=open")  # opened from the "mine, open" view
    back = f"/admin/threads/{thread}?view=mine&amp;status=open"
    assert NEXT_RE.findall(page.text) == [back, back]  # both forms carry it
    assert NEXT_RE.findall(nur.get(f"/admin/threads/{thread}").text) == []  # the default view: nothing to carry
    came_from = html.unescape(back)

    done = nur.post(f"/admin/threads/{thread}/status", {"status": "resolved", "next": came_from})
    assert done.status_code == 303 and done.headers["location"] == came_from
    assert thread not in rows(nur, "?view=mine&status=open") and rows(nur, "?view=mine&status=resolved")[thread]
    kept = nur.post(f"/admin/threads/{thread}/assign", {"agent": "me", "next": came_from})
    assert kept.status_code == 303 and kept.headers["location"] == came_from
    # htmx: the updated menu, still carrying the view for the next post
    fragment = nur.post(f"/admin/threads/{thread}/status", {"status": "open", "next": came_from}, htmx=True)
    assert fragment.status_code == 200 and NEXT_RE.findall(fragment.text) == [back, back]
    assert rows(nur, "?view=mine&status=open")[thread] == ("open", "nur")

    # Only a view is taken from `next`, never a place: anything else goes back to the conversation as before.
    for foreign in (
        "https://evil.example/admin/threads/1?view=mine&status=open",
        "//evil.example/admin/threads/1",
        f"/admin/threads/{thread + 1}?view=mine&status=open",
        f"/admin/threads/{thread}?view=theirs&status=open",
        "/admin/team?view=mine&status=open",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        moved = nur.post(f"/admin/threads/{thread}/status", {"status": "open", "next": foreign})
        assert moved.status_code == 303 and moved.headers["location"] == f"/admin/threads/{thread}", foreign
    assert nur.post(f"/admin/threads/{thread}/assign", {"agent": ""}).status_code == 303  # out of the later views
    assert nur.post(f"/admin/threads/{thread}/status", {"status": "resolved"}).status_code == 303


def test_assignment_and_the_mine_and_unassigned_views(server, team):
    owner, nur = team["admin"], team["nur"]
    _, mine = new_thread(server, owner, "ForNur")
    _, other = new_thread(server, owner, "ForAdmin")
    _, nobody = new_thread(server, owner, "ForNobody")
    assert nur.post(f"/admin/threads/{mine}/assign", {"agent": "me"}).status_code == 303
    assert nur.post(f"/admin/threads/{other}/assign", {"agent": "admin"}).status_code == 303
    fragment = owner.post(f"/admin/threads/{nobody}/assign", {"agent": ""}, htmx=True)
    assert fragment.status_code == 200 and 'data-assignee=""' in fragment.text

    listed = rows(nur, "?view=mine&status=open")
    assert listed == {mine: ("open", "nur")}  # exactly the matching conversations
    unassigned = rows(nur, "?view=unassigned")
    assert nobody in unassigned and mine not in unassigned and other not in unassigned
    assert set(unassigned.values()) == {("open", "")}
    everything = rows(owner, "?view=all&status=open")
    assert everything[mine] == ("open", "nur") and everything[other] == ("open", "admin")
    # The list's live refresh keeps the view, and the rows link back into it.
    page = nur.get("/admin?view=mine&status=open").text
    assert 'hx-get="/admin/threads?view=mine&amp;status=open"' in page
    assert f'href="/admin/threads/{mine}?view=mine&amp;status=open"' in page
    assert 'aria-current="page">Mine <span class="count" data-count="1">1</span>' in page  # the tabs count
    refreshed = nur.get("/admin/threads?view=mine&status=open", headers={"HX-Request": "true"}).text
    assert set(map(int, re.findall(r'<li id="thread-(\d+)"', refreshed))) == {mine}
    assert 'id="views"' in refreshed and 'hx-swap-oob="true"' in refreshed  # the counts follow, live
    nur.post(f"/admin/threads/{mine}/status", {"status": "resolved"})
    refreshed = nur.get("/admin/threads?view=mine&status=open", headers={"HX-Request": "true"}).text
    assert 'aria-current="page">Mine <span class="count" data-count="0">0</span>' in refreshed
    assert '>Resolved <span class="count" data-count="1">1</span>' in refreshed


@pytest.mark.parametrize(
    ("path", "form", "reason"),
    [
        ("status", {"status": "closed"}, "open, snoozed or resolved"),
        ("status", {"status": "snoozed"}, "needs a time"),
        ("status", {"status": "snoozed", "until": "someday"}, "needs a time"),
        ("status", {"status": "snoozed", "until": "500d"}, "needs a time"),
        ("status", {"status": "resolved", "until": "2h"}, "needs a time"),
        ("assign", {"agent": "ghost"}, "no enabled agent"),
    ],
)
def test_bad_input_is_a_clear_422_and_changes_nothing(server, team, path, form, reason):
    owner = team["admin"]
    _, thread = new_thread(server, owner, f"Bad{path}{len(form)}{form.get('until', '')}{form.get('agent', '')}")
    for htmx in (False, True):
        refused = owner.post(f"/admin/threads/{thread}/{path}", form, htmx=htmx)
        assert refused.status_code == 422 and reason in refused.text, refused.text
    assert rows(owner)[thread] == ("open", "")
    assert owner.post(f"/admin/threads/{2**31 - 1}/status", {"status": "open"}).status_code == 404
    assert owner.get("/admin?view=theirs").status_code == 400
    assert Browser(server.url).post(f"/admin/threads/{thread}/status", {"status": "resolved"}).status_code == 303


def test_a_disabled_agent_cannot_be_assigned(server, team):
    owner = team["admin"]
    agent_session(server, owner, "gone", "Gone Soon")
    assert owner.post("/admin/team/gone/disable").status_code in (200, 303)
    _, thread = new_thread(server, owner, "NotForGone")
    assert owner.post(f"/admin/threads/{thread}/assign", {"agent": "gone"}).status_code == 422
    assert rows(owner)[thread] == ("open", "")


def test_the_json_api(server, team):
    client = api_login(server)
    owner = team["admin"]
    _, thread = new_thread(server, owner, "ApiThread")
    assigned = client.post(f"/api/threads/{thread}/assign", {"agent": "nur"})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "nur" and assigned.json()["conversation_status"] == "open"
    snoozed = client.post(f"/api/threads/{thread}/status", {"status": "snoozed", "until": "1d"})
    assert snoozed.status_code == 200 and snoozed.json()["conversation_status"] == "snoozed"
    assert snoozed.json()["snoozed_until"]

    listed = client.get("/api/threads", params={"status": "snoozed", "limit": 200}).json()["threads"]
    item = next(t for t in listed if t["id"] == thread)
    assert (item["conversation_status"], item["assignee"], item["status"]) == ("snoozed", "nur", "active")
    assert all(t["conversation_status"] == "snoozed" for t in listed)
    mine = client.get("/api/threads", params={"view": "mine", "status": "snoozed"}).json()["threads"]
    assert thread not in {t["id"] for t in mine}  # the API's caller is admin, not nur
    assert thread in {t["id"] for t in client.get("/api/threads", params={"limit": 200}).json()["threads"]}

    for path, body in [
        ("status", {"status": "snoozed", "until": "nope"}),
        ("status", {"status": "gone"}),
        ("assign", {"agent": "ghost"}),
    ]:
        refused = client.post(f"/api/threads/{thread}/{path}", body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["success"] is False and refused.json()["status"] == 422
    assert client.post(f"/api/threads/{2**31 - 1}/status", {"status": "open"}).status_code == 404
    assert client.get("/api/threads", params={"view": "theirs"}).status_code == 400
    item = next(t for t in client.get("/api/threads", params={"limit": 200}).json()["threads"] if t["id"] == thread)
    assert (item["conversation_status"], item["assignee"]) == ("snoozed", "nur")  # the refusals changed nothing


def test_round_robin_gives_a_new_conversation_to_the_agent_with_the_dashboard_open(
    make_server: Callable[..., Server],
):
    server = make_server("round-robin", ASSIGNMENT="round_robin")
    owner = login_admin(server)
    ada = agent_session(server, owner, "ada", "Ada")
    _, first = new_thread(server, owner, "NobodyOnline")
    assert rows(owner)[first] == ("open", "")  # no admin stream open yet
    stream = OneStream(server.url, "/admin/events", jar(ada)).opened()
    try:
        _, second = new_thread(server, owner, "ForAda")
        assert rows(owner)[second] == ("open", "ada")
        _, third = new_thread(server, owner, "ForAdaAgain")
        assert rows(owner)[third] == ("open", "ada")  # the only one online
    finally:
        ada.post("/logout")
        wait_until(lambda: stream.ended_at is not None, timeout=10, message="the stream to end")
    wait_until(lambda: not server_has_online_agents(server, owner), timeout=10, message="ada offline")


def server_has_online_agents(server: Server, owner: Browser) -> bool:
    _, thread = new_thread(server, owner, f"Probe{len(rows(owner))}")
    return rows(owner)[thread][1] != ""
