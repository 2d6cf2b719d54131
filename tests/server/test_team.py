"""The team over HTTP against real servers (SPEC §8): the owner's pages, the invite link, an agent's login, what an
agent may not do (403), authorship on both sides and in the API, and revocation: an agent disabled by the owner has
their open dashboard stream end within 5 s and their next request sent to /login (401 for JSON). On PostgreSQL the
same across two server processes."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable

import httpx
import pytest

from tests.server.test_revocation import OneStream, jar
from tests.streams import open_reader
from tests.support import BACKEND, Browser, Server, find_thread, login_admin, start_visitor, wait_until

INVITE_RE = re.compile(r'<code id="invite-url">([^<]+)</code>')
PASSWORD = "a long and fine password 7"


def invite(owner: Browser, username: str, display_name: str, role: str = "agent") -> str:
    response = owner.post("/admin/team", {"username": username, "display_name": display_name, "role": role})
    assert response.status_code == 200, response.text
    assert f'id="agent-{username}"' in response.text
    (link,) = INVITE_RE.findall(response.text)
    return html.unescape(link)


def accept(server: Server, link: str, password: str = PASSWORD) -> httpx.Response:
    path = link.split("://", 1)[1].split("/", 1)[1]
    newcomer = Browser(server.url)
    assert newcomer.get(f"/{path}").status_code == 200
    return newcomer.post(f"/{path}", {"password": password})


def agent_session(server: Server, owner: Browser, username: str, display_name: str) -> Browser:
    link = invite(owner, username, display_name)
    assert accept(server, link).status_code == 200
    return login_admin(server, username=username, password=PASSWORD)


def test_the_owner_invites_an_agent_who_sets_a_password_and_logs_in(server):
    owner = login_admin(server)
    page = owner.get("/admin/team")
    assert page.status_code == 200 and 'id="agent-admin"' in page.text and 'data-role="owner"' in page.text
    assert 'href="/admin/team"' in owner.get("/admin").text  # the owner's bar links the team page
    link = invite(owner, "sam", "Sam Kaya")
    assert link.startswith(server.url + "/invite/")
    path = "/" + link.split("/", 3)[3]
    newcomer = Browser(server.url)
    form = newcomer.get(path)
    assert form.status_code == 200 and "Sam Kaya" in form.text and form.headers["cache-control"] == "no-store"
    for weak, status in (("short", 422), ("qwertyuiop123", 422)):
        assert newcomer.post(path, {"password": weak}).status_code == status
    assert newcomer.post(path, {"password": PASSWORD}).status_code == 200
    assert newcomer.post(path, {"password": PASSWORD + "2"}).status_code == 410  # used
    assert Browser(server.url).get(path).status_code == 410
    assert Browser(server.url).get("/invite/not-a-real-token").status_code == 410
    sam = login_admin(server, username="sam", password=PASSWORD)
    assert sam.get("/admin").status_code == 200
    me = sam.get("/admin/me")
    assert me.status_code == 200 and "sam" in me.text


def test_agents_are_refused_the_owner_pages(server):
    owner = login_admin(server)
    kim = agent_session(server, owner, "kim", "Kim")
    assert 'href="/admin/team"' not in kim.get("/admin").text
    before = owner.get("/admin/team").text.count('id="agent-')
    assert kim.get("/admin/team").status_code == 403
    assert kim.post("/admin/team", {"username": "sneaky", "display_name": "S", "role": "owner"}).status_code == 403
    for action in ("disable", "reset", "role"):
        assert kim.post(f"/admin/team/admin/{action}", {"role": "agent"}).status_code == 403
    assert owner.get("/admin/team").text.count('id="agent-') == before  # nothing changed
    visitor = start_visitor(server.url, "Kept")
    visitor.post("/chat/messages", {"text": "still here"})
    assert 'action="/admin/clear-all"' not in kim.get("/admin").text
    assert kim.post("/admin/clear-all", {"confirm": "yes"}).status_code == 403  # clearing everything: owners only
    assert 'href="/admin/settings"' not in kim.get("/admin").text  # workspace settings: owners only
    assert kim.get("/admin/settings").status_code == 403
    assert kim.post("/admin/settings", {"site_name": "Taken over"}).status_code == 403
    assert "Taken over" not in Browser(server.url).get("/").text
    assert 'href="/admin/settings"' in owner.get("/admin").text
    assert "still here" in owner.get(f"/admin/threads/{find_thread(owner, 'Kept')}").text
    assert 'action="/admin/clear-all"' in owner.get("/admin").text
    assert 'data-role="owner"' in owner.get("/admin/team").text
    agents = kim.http.get("/api/agents").json()
    assert agents["success"] and {a["username"] for a in agents["agents"]} >= {"admin", "kim"}
    assert all(set(a) == {"username", "display_name", "role", "disabled"} for a in agents["agents"])
    assert httpx.get(server.url + "/api/agents").status_code == 401


def test_the_last_owner_is_kept(server):
    owner = login_admin(server)
    for action in ("disable", "reset"):
        refused = owner.post(f"/admin/team/admin/{action}")
        assert refused.status_code == 409 and "last enabled owner" in refused.text
    assert owner.post("/admin/team/admin/role", {"role": "agent"}).status_code == 409
    assert owner.get("/admin").status_code == 200


def test_replies_carry_their_author(server):
    owner = login_admin(server)
    ana = agent_session(server, owner, "ana", "Ana Demir")
    visitor = start_visitor(server.url, "Authored")
    visitor.post("/chat/messages", {"text": "hello"})
    thread = find_thread(owner, "Authored")
    assert ana.post(f"/admin/threads/{thread}/messages", {"text": "from ana"}).status_code == 303
    assert owner.post(f"/admin/threads/{thread}/messages", {"text": "from the owner"}).status_code == 303
    page = owner.get(f"/admin/threads/{thread}").text
    assert re.search(r'data-sender="admin" data-author="ana"[^>]*>.*?Ana Demir.*?from ana', page, re.S)
    seen = visitor.get("/").text
    assert re.search(r'data-author="ana".*?<span class="msg-author">Ana Demir</span>', seen, re.S)
    assert re.search(r'data-author="admin".*?<span class="msg-author">Support</span>', seen, re.S)
    messages = owner.http.get(f"/api/messages/{thread}").json()["messages"]
    assert [(m["author"], m["author_name"]) for m in messages] == [(None, ""), ("ana", "Ana Demir"), ("admin", "")]
    ana.get("/admin/me")
    assert ana.post("/admin/me", {"display_name": "Ana D."}).status_code == 303
    assert "Ana D." in visitor.get("/").text


def new_authors(html: str) -> list[bool]:
    """For each message bubble in `html`, in order: whether it starts a new group (another writer)."""
    return ["data-new-author" in tag for tag in re.findall(r'<article id="msg-[^>]*>', html)]


def test_two_agents_answering_in_turn_are_two_groups(server):
    owner = login_admin(server)
    ada = agent_session(server, owner, "ada", "Ada")
    visitor = start_visitor(server.url, "Grouped")
    visitor.post("/chat/messages", {"text": "hello"})
    thread = find_thread(owner, "Grouped")
    reader = open_reader(server.url, "/chat/events", visitor.http.cookies)  # live once it has sent "hello"
    try:
        for who, text in ((ada, "one"), (ada, "two"), (owner, "three"), (owner, "four")):
            assert who.post(f"/admin/threads/{thread}/messages", {"text": text}).status_code == 303
        events = reader.wait_for_messages(5)[1:]  # rendered as they were stored
    finally:
        reader.close()
    expected = [False, True, False, True, False]  # hello | ada: one, two | admin: three, four
    assert [new_authors(event.data) for event in events] == [[start] for start in expected[1:]]
    assert new_authors(owner.get(f"/admin/threads/{thread}").text) == expected
    assert new_authors(visitor.get("/").text) == expected
    after_two = int(events[1].id)  # a catch-up from the middle: its first message is compared with the one before
    catch_up = open_reader(server.url, "/chat/events", visitor.http.cookies, after=after_two)
    try:
        assert [new_authors(e.data) for e in catch_up.wait_for_messages(2)] == [[start] for start in expected[3:]]
    finally:
        catch_up.close()


def test_disabling_an_agent_ends_their_stream_and_session(server):
    owner = login_admin(server)
    lee = agent_session(server, owner, "lee", "Lee")
    stream = OneStream(server.url, "/admin/events", jar(lee)).opened()
    disabled = time.monotonic()
    owner.get("/admin/team")
    assert owner.post("/admin/team/lee/disable").status_code == 303
    took = stream.wait_ended(disabled)
    print(f"\nthe agent's stream ended {took:.2f}s after the owner disabled them")
    assert lee.get("/admin").status_code == 303 and lee.get("/admin").headers["location"] == "/login"
    assert lee.http.get("/api/threads").status_code == 401
    assert 'data-disabled="true"' in owner.get("/admin/team").text
    refused = Browser(server.url)
    refused.get("/login")
    assert refused.post("/login", {"username": "lee", "password": PASSWORD}).status_code == 401
    assert owner.post("/admin/team/lee/enable").status_code == 303
    login_admin(server, username="lee", password=PASSWORD)


def test_a_password_change_ends_every_session(server):
    owner = login_admin(server)
    mia = agent_session(server, owner, "mia", "Mia")
    other = login_admin(server, username="mia", password=PASSWORD)
    mia.get("/admin/me")
    wrong = mia.post("/admin/me/password", {"current_password": "nope", "new_password": PASSWORD + "!"})
    assert wrong.status_code == 403
    done = mia.post("/admin/me/password", {"current_password": PASSWORD, "new_password": PASSWORD + "!"})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert other.get("/admin").status_code == 303
    login_admin(server, username="mia", password=PASSWORD + "!")


# -- PostgreSQL: two processes on one database ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(make_server: Callable[..., Server]) -> tuple[Server, Server]:
    if BACKEND != "postgres":
        pytest.skip("two processes on one database need PostgreSQL (SOHBET_TEST_DB=postgres)")
    a = make_server("team-a", SSE_PING_SECONDS="1")
    shared = {key: a.env[key] for key in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS")}
    b = make_server("team-b", SSE_PING_SECONDS="1", **shared)
    return a, b


def test_disabling_on_one_process_ends_the_stream_on_another(pair):
    a, b = pair
    owner = login_admin(a)
    zoe = agent_session(b, owner, "zoe", "Zoe")  # invited through A, password and login through B
    stream = OneStream(b.url, "/admin/events", jar(zoe)).opened()
    disabled = time.monotonic()
    owner.get("/admin/team")
    assert owner.post("/admin/team/zoe/disable").status_code == 303  # through A
    took = stream.wait_ended(disabled)
    print(f"\nthe agent's stream on B ended {took:.2f}s after the owner disabled them on A")
    assert took < 2, "the revocation should come through NOTIFY, not only the periodic recheck"
    wait_until(lambda: zoe.get("/admin").status_code == 303, message="the agent's next request to go to /login")
