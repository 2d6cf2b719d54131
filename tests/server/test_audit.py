"""The audit log over HTTP against a real server (SPEC §8): the owner sees their logins, a failed login, team
changes, clears and settings changes at /admin/audit with actor, IP and time; an agent gets 403; the page never
shows message text or a password, even after a clear; 50 entries a page with a link to older ones, and a filter."""

from __future__ import annotations

import re

from tests.server.test_team import agent_session, invite
from tests.support import Browser, find_thread, login_admin, start_visitor

WRONG = "definitely-not-the-password-913"
SECRET_TEXT = "my card number is 4111-1111-1111-1111"


def actions(page: str) -> list[str]:
    return re.findall(r'<tr id="audit-\d+" data-action="([^"]+)"', page)


def test_the_owner_sees_what_happened_and_nothing_secret(server):
    stranger = Browser(server.url)
    stranger.get("/login")
    assert stranger.post("/login", {"username": "admin", "password": WRONG}).status_code == 401
    owner = login_admin(server)
    assert 'href="/admin/audit"' in owner.get("/admin").text
    invite(owner, "aud1", "Aud One")
    assert owner.post("/admin/team/aud1/disable", {}).status_code == 303
    visitor = start_visitor(server.url, "Leaky")
    visitor.post("/chat/messages", {"text": SECRET_TEXT})
    thread = find_thread(owner, "Leaky")
    assert owner.post(f"/admin/threads/{thread}/clear", {"confirm": "yes"}).status_code == 303
    page = owner.get("/admin/audit")
    assert page.status_code == 200
    got = actions(page.text)
    assert got[:4] == ["conversation.cleared", "team.disabled", "team.created", "login.success"]
    assert "login.failed" in got
    assert "127.0.0.1" in page.text
    row = re.search(r'<tr id="audit-\d+" data-action="team.created" data-actor="admin">(.*?)</tr>', page.text, re.S)
    assert row is not None and "aud1" in row.group(1)
    assert WRONG not in page.text and "4111" not in page.text and SECRET_TEXT not in page.text
    filtered = owner.get("/admin/audit?action=login.failed")
    assert set(actions(filtered.text)) == {"login.failed"}


def test_settings_changes_show_keys_only(server):
    owner = login_admin(server)
    form = {"site_name": "Hidden Value Co", "accent": "#2255aa", "greeting": "", "embed_origins": ""}
    assert owner.post("/admin/settings", form).status_code == 303
    page = owner.get("/admin/audit?action=settings.saved").text
    assert actions(page)[:1] == ["settings.saved"] and "site_name" in page
    assert "Hidden Value Co" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_an_agent_gets_403(server):
    owner = login_admin(server)
    kim = agent_session(server, owner, "audkim", "Kim")
    assert 'href="/admin/audit"' not in kim.get("/admin").text
    assert kim.get("/admin/audit").status_code == 403
    assert Browser(server.url).get("/admin/audit").status_code in (302, 303, 401)


def test_fifty_a_page_then_older(server):
    owner = login_admin(server)
    for _ in range(55):
        assert owner.post("/admin/team/audkim/enable", {}).status_code == 303
    first = owner.get("/admin/audit")
    assert len(actions(first.text)) == 50
    older = re.search(r'id="audit-older" href="([^"]+)"', first.text)
    assert older is not None
    second = owner.get(older.group(1).replace("&amp;", "&"))
    ids_first = [int(i) for i in re.findall(r'<tr id="audit-(\d+)"', first.text)]
    ids_second = [int(i) for i in re.findall(r'<tr id="audit-(\d+)"', second.text)]
    assert ids_second and max(ids_second) < min(ids_first)
    assert ids_first == sorted(ids_first, reverse=True)


def test_the_json_api_for_owners(server):
    owner = login_admin(server)
    headers = {"Accept": "application/json", "x-csrftoken": owner.csrf_token}
    answer = owner.http.get("/api/audit", params={"action": "login.success"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["events"]
    assert {e["action"] for e in body["events"]} == {"login.success"}
    assert set(body["events"][0]) == {"id", "time", "actor", "ip", "action", "target", "details"}
    full = owner.http.get("/api/audit", headers=headers).json()
    assert len(full["events"]) == 50 and full["next_before"] == full["events"][-1]["id"]
    kim = login_admin(server, username="audkim", password="a long and fine password 7")
    assert kim.http.get("/api/audit", headers=headers).status_code == 403
    assert Browser(server.url).http.get("/api/audit", headers={"Accept": "application/json"}).status_code == 401
