"""Per-agent state over HTTP against real servers (SPEC §8): unread counts and read marks are each agent's own
(the list's badge, the title's count, the JSON API's `unread_count`); each agent's availability (online | away)
is set on the dashboard (303 without JavaScript, the switch with htmx, 422 for anything else, changing nothing);
round robin skips an away agent, and an away agent's dashboard plays no sound; visitors see support online only
while an available agent has a dashboard open."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from tests.server.test_assignment import new_thread, rows
from tests.server.test_events import unread_badge
from tests.server.test_revocation import OneStream, jar
from tests.server.test_team import agent_session
from tests.support import Browser, Server, login_admin, start_visitor, wait_until


@pytest.fixture(scope="module")
def pair(server: Server) -> dict[str, Browser]:
    owner = login_admin(server)
    return {"admin": owner, "ece": agent_session(server, owner, "ece", "Ece Kaya")}


def title_count(admin: Browser) -> int:
    match = re.search(r"<title>\((\d+)\) ", admin.get("/admin").text)
    return int(match.group(1)) if match else 0


def api_unread(admin: Browser, thread: int) -> int:
    listed = admin.get("/api/threads", params={"limit": 100}).json()
    return next(t["unread_count"] for t in listed["threads"] if t["id"] == thread)


def test_reading_marks_a_conversation_read_for_that_agent_only(server, pair):
    owner, ece = pair["admin"], pair["ece"]
    visitor, thread = new_thread(server, owner, "TwoReaders")
    visitor.post("/chat/messages", {"text": "second"})
    assert unread_badge(owner, thread) == "2" and unread_badge(ece, thread) == "2"
    before_owner, before_ece = title_count(owner), title_count(ece)

    assert ece.get(f"/admin/threads/{thread}").status_code == 200  # Ece opens it
    assert unread_badge(ece, thread) is None and api_unread(ece, thread) == 0
    assert title_count(ece) == before_ece - 2
    assert unread_badge(owner, thread) == "2" and api_unread(owner, thread) == 2  # still unread for the owner
    assert title_count(owner) == before_owner

    visitor.post("/chat/messages", {"text": "third"})  # a new visitor message counts for both
    assert unread_badge(ece, thread) == "1" and unread_badge(owner, thread) == "3"
    owner.get(f"/admin/threads/{thread}")
    assert unread_badge(owner, thread) is None and unread_badge(ece, thread) == "1"


def test_a_clear_reads_the_conversation_for_everyone(server, pair):
    owner, ece = pair["admin"], pair["ece"]
    visitor, thread = new_thread(server, owner, "ClearedForAll")
    ece.get(f"/admin/threads/{thread}")
    visitor.post("/chat/messages", {"text": "again"})
    assert unread_badge(owner, thread) == "2" and unread_badge(ece, thread) == "1"
    owner.post(f"/admin/threads/{thread}/clear", {"confirm": "yes"})
    assert unread_badge(owner, thread) is None and unread_badge(ece, thread) is None


def availability_of(admin: Browser) -> str:
    match = re.search(r'data-availability="([a-z]+)"', admin.get("/admin/me").text)
    assert match is not None
    return match.group(1)


def test_the_availability_form(server, pair):
    ece = pair["ece"]
    assert availability_of(ece) == "online"
    done = ece.post("/admin/me/availability", {"availability": "away"})
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    assert availability_of(ece) == "away"
    for bad in ("", "busy", "AWAY"):
        refused = ece.post("/admin/me/availability", {"availability": bad})
        assert refused.status_code == 422 and "online or away" in refused.text
        htmx = ece.post("/admin/me/availability", {"availability": bad}, htmx=True)
        assert htmx.status_code == 422 and 'id="availability"' in htmx.text
    assert availability_of(ece) == "away"  # nothing changed
    switched = ece.post("/admin/me/availability", {"availability": "online"}, htmx=True)
    assert switched.status_code == 200 and switched.text.lstrip().startswith('<form id="availability"')
    assert 'data-availability="online"' in switched.text and availability_of(ece) == "online"


def team_list(admin: Browser) -> dict[str, str]:
    page = admin.get("/admin").text
    block = page.split('<ul id="team-online"', 1)[1].split("</ul>", 1)[0]
    return dict(re.findall(r'data-agent="([^"]+)" data-availability="([a-z]+)"', block))


def support_online(visitor: Browser) -> bool:
    return 'class="support-status online"' in visitor.get("/").text


def test_round_robin_skips_away_agents_and_visitors_see_support_follow_availability(
    make_server: Callable[..., Server],
):
    server = make_server("agent-state", ASSIGNMENT="round_robin")
    owner = login_admin(server)
    ada = agent_session(server, owner, "ada", "Ada")
    visitor = start_visitor(server.url, "Watcher")
    assert not support_online(visitor)
    stream = OneStream(server.url, "/admin/events", jar(ada)).opened()
    try:
        wait_until(lambda: support_online(visitor), message="support online (Ada's dashboard)")
        assert team_list(owner) == {"ada": "online"}
        _, first = new_thread(server, owner, "ForAda")
        assert rows(owner)[first] == ("open", "ada")

        assert ada.post("/admin/me/availability", {"availability": "away"}).status_code == 303
        assert team_list(owner) == {"ada": "away"}
        wait_until(lambda: not support_online(visitor), message="support offline (the only open dashboard is away)")
        _, second = new_thread(server, owner, "NobodyAvailable")
        assert rows(owner)[second] == ("open", "")  # skipped: away

        assert ada.post("/admin/me/availability", {"availability": "online"}).status_code == 303
        wait_until(lambda: support_online(visitor), message="support online again")
        _, third = new_thread(server, owner, "ForAdaAgain")
        assert rows(owner)[third] == ("open", "ada")
    finally:
        ada.post("/logout")
        wait_until(lambda: stream.ended_at is not None, timeout=10, message="the stream to end")


def test_an_away_agent_gets_no_sound(server, pair):
    owner, ece = pair["admin"], pair["ece"]
    visitor, _ = new_thread(server, owner, "QuietForEce")
    ece.post("/admin/me/availability", {"availability": "away"})
    stream = OneStream(server.url, "/admin/events", jar(ece)).opened()
    try:

        def sent_after_a_post() -> list[str]:
            start = len(stream.events)
            visitor.post("/chat/messages", {"text": "ping"})
            wait_until(lambda: any(e.event == "threads" for e in stream.events[start:]), message="a list refresh")
            time.sleep(1.0)  # hints are paced (0.25 s): a sound would have come by now
            return [e.event for e in stream.events[start:]]

        assert "notify" not in sent_after_a_post()
        ece.post("/admin/me/availability", {"availability": "online"})
        time.sleep(0.5)  # the switch's own list refresh goes first
        assert "notify" in sent_after_a_post()
    finally:
        ece.post("/admin/me/availability", {"availability": "online"})
        ece.post("/logout")
        wait_until(lambda: stream.ended_at is not None, timeout=10, message="the stream to end")
