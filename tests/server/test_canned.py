"""Canned replies (SPEC §10) through a real server: the /admin/canned page (create, update, delete, refusals),
the composer's `canned` select and `{name}` filled in on send, and the suggestions for `/` plus a shortcut."""

from __future__ import annotations

import html
import re

from tests.server.test_team import agent_session
from tests.support import TEXT_RE, find_thread, login_admin, sql, start_visitor


def replies(url: str) -> list[tuple]:
    return sql(url, "SELECT shortcut, text, created_by FROM canned_reply ORDER BY shortcut")


def visitor_texts(visitor) -> list[str]:
    return [html.unescape(text) for text in TEXT_RE.findall(visitor.get("/").text)]


def test_agents_create_update_and_delete_canned_replies(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    agent = agent_session(server, owner, "kim", "Kim")
    assert 'href="/admin/canned"' in agent.get("/admin").text  # the bar links it for agents too
    assert agent.get("/admin/canned").status_code == 200
    response = agent.post("/admin/canned", {"shortcut": " /Greet ", "text": "Hello {name}, how can we help?"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/canned"
    assert replies(url) == [("greet", "Hello {name}, how can we help?", "kim")]
    page = owner.get("/admin/canned").text
    assert 'id="canned-greet"' in page and "Hello {name}, how can we help?" in page
    assert owner.post("/admin/canned", {"shortcut": "greet", "text": "Hi {name}!"}).status_code == 303
    assert replies(url) == [("greet", "Hi {name}!", "admin")]  # the same shortcut: replaced, not added
    assert agent.post("/admin/canned/greet/delete").status_code == 303
    assert replies(url) == []
    assert agent.post("/admin/canned/greet/delete").status_code == 303  # already gone: nothing to do


def test_bad_input_is_refused_with_the_form_kept_and_nothing_changed(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    assert owner.post("/admin/canned", {"shortcut": "bye", "text": "Bye!"}).status_code == 303
    cases = [
        ({"shortcut": "bad shortcut!", "text": "Kept text"}, "The shortcut must be"),
        ({"shortcut": "", "text": "Kept text"}, "The shortcut must be"),
        ({"shortcut": "x" * 31, "text": "Kept text"}, "The shortcut must be"),
        ({"shortcut": "bye", "text": "   "}, "Write the reply"),
        ({"shortcut": "bye", "text": "y" * 2001}, "at most 2000 characters"),
    ]
    for form, reason in cases:
        response = owner.post("/admin/canned", form)
        assert response.status_code == 422, form
        assert 'id="canned-error"' in response.text and reason in response.text
        assert html.escape(form["text"].strip() or "", quote=False) in response.text  # nothing typed lost
        assert replies(url) == [("bye", "Bye!", "admin")]


def test_a_chosen_canned_reply_is_sent_with_the_visitor_name(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    owner.post("/admin/canned", {"shortcut": "greet", "text": "Hello {name}, how can we help?"})
    visitor = start_visitor(server.url, "Ayşe")
    visitor.post("/chat/messages", {"text": "hi"})
    thread = find_thread(owner, "Ayşe")
    page = owner.get(f"/admin/threads/{thread}").text
    assert re.search(r'<select id="composer-canned" name="canned"[^>]*>', page) and 'value="greet"' in page
    assert 'name="canned"' not in visitor.get("/").text  # never on the visitor's composer
    posted = f"/admin/threads/{thread}/messages"
    assert owner.post(posted, {"text": "", "canned": "greet"}).status_code == 303  # no JavaScript: the select alone
    assert owner.post(posted, {"text": "One moment", "canned": "greet"}).status_code == 303  # after the text
    assert owner.post(posted, {"text": "Typed for {name} by hand"}, htmx=True).status_code == 200  # the JS path
    assert visitor_texts(visitor)[-3:] == [
        "Hello Ayşe, how can we help?",
        "One moment<br>Hello Ayşe, how can we help?",
        "Typed for Ayşe by hand",
    ]
    before = sql(url, "SELECT count(*) FROM message")
    response = owner.post(posted, {"text": "Kept words", "canned": "gone"}, htmx=True)
    assert response.status_code == 422 and "no longer exists" in response.text and "Kept words" in response.text
    assert 'name="canned"' in response.text  # the refused composer still offers them
    assert sql(url, "SELECT count(*) FROM message") == before


def test_suggestions_match_the_shortcut_being_typed_for_agents_only(server):
    owner = login_admin(server)
    agent = agent_session(server, owner, "lou", "Lou")
    for shortcut in ("greet", "great_news", "bye"):
        owner.post("/admin/canned", {"shortcut": shortcut, "text": f"Text of {shortcut}"})

    def suggested(browser, query: str) -> list[str]:
        response = browser.get("/admin/canned/suggest", params=query, headers={"HX-Request": "true"})
        assert response.status_code == 200
        return re.findall(r'data-shortcut="([^"]+)"', response.text)

    assert suggested(agent, {"text": "/gr"}) == ["great_news", "greet"]
    assert suggested(agent, {"q": "/gree"}) == ["greet"]
    assert suggested(agent, {"text": "/"}) == ["bye", "great_news", "greet"]
    assert suggested(agent, {"text": "gr"}) == []  # not a /shortcut
    assert suggested(agent, {"text": "/gr and more"}) == []  # a space: a message is being written
    assert suggested(agent, {"text": "/g_"}) == []  # `_` is no wildcard
    visitor = start_visitor(server.url, "Nosy")
    response = visitor.get("/admin/canned/suggest", params={"text": "/gr"})
    assert response.status_code == 303 and response.headers["location"] == "/login"
