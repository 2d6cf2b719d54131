"""Labels (SPEC §10) through a real server: adding and removing (htmx and without JavaScript), the rules (1-30
letters of any script, digits, - and _, trimmed and lower-cased, at most 20), 422s that change nothing, the chips in
the header and the list, and the list's filter on the dashboard and in the JSON API, with the other views."""

from __future__ import annotations

import pytest

from tests.server.test_api import api_login
from tests.server.test_assignment import rows
from tests.support import find_thread, login_admin, sql, start_visitor


def labels_of(url: str, thread: int) -> list[str]:
    return [
        r[0] for r in sql(url, "SELECT label FROM conversation_label WHERE conversation = ? ORDER BY label", thread)
    ]


def new_thread(server, owner, name: str) -> int:
    start_visitor(server.url, name).post("/chat/messages", {"text": f"hello from {name}"})
    return find_thread(owner, name)


def test_add_and_remove_labels(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    thread = new_thread(server, owner, "Labelled")
    path = f"/admin/threads/{thread}/labels"
    done = owner.post(path, {"label": "  VIP ", "action": "add"})  # no JavaScript
    assert done.status_code == 303 and done.headers["location"] == f"/admin/threads/{thread}"
    fragment = owner.post(path, {"label": "İade_2", "action": "add"}, htmx=True)
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="labels"')
    assert 'data-label="iade_2"' in fragment.text and 'data-label="vip"' in fragment.text
    assert owner.post(path, {"label": "vip", "action": "add"}).status_code == 303  # already there: nothing new
    assert labels_of(url, thread) == ["iade_2", "vip"]
    header = owner.get(f"/admin/threads/{thread}").text.split('<div id="labels"', 1)[1].split("</div>", 1)[0]
    assert 'data-label="vip"' in header and 'href="/admin?label=vip"' in header
    item = owner.get("/admin/threads").text.split(f'id="thread-{thread}"', 1)[1].split("</li>", 1)[0]
    assert 'class="label-chip" data-label="iade_2"' in item and 'data-label="vip"' in item

    removed = owner.post(path, {"label": "VIP", "action": "remove"}, htmx=True)
    assert removed.status_code == 200 and 'data-label="vip"' not in removed.text
    assert owner.post(path, {"label": "never-there", "action": "remove"}).status_code == 303
    assert labels_of(url, thread) == ["iade_2"]
    assert owner.post("/admin/threads/999999/labels", {"label": "x", "action": "add"}).status_code == 404


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"label": "", "action": "add"}, "A label is 1 to 30"),
        ({"label": "   ", "action": "add"}, "A label is 1 to 30"),
        ({"label": "x" * 31, "action": "add"}, "A label is 1 to 30"),
        ({"label": "two words", "action": "add"}, "A label is 1 to 30"),
        ({"label": "bad!", "action": "add"}, "A label is 1 to 30"),
        ({"label": "ok", "action": "rename"}, "Choose add or remove"),
        ({"label": "ok"}, "Choose add or remove"),
    ],
)
def test_bad_input_is_422_and_changes_nothing(server, form, reason):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    thread = new_thread(server, owner, f"Bad {len(form)} {form.get('action', '-')} {len(form['label'])}")
    before = sql(url, "SELECT count(*) FROM conversation_label")
    for htmx in (True, False):
        response = owner.post(f"/admin/threads/{thread}/labels", form, htmx=htmx)
        assert response.status_code == 422 and reason in response.text
    assert sql(url, "SELECT count(*) FROM conversation_label") == before


def test_at_most_twenty_labels(server):
    url = server.env["DATABASE_URL"]
    owner = login_admin(server)
    thread = new_thread(server, owner, "Many labels")
    path = f"/admin/threads/{thread}/labels"
    for number in range(20):
        assert owner.post(path, {"label": f"l{number:02}", "action": "add"}).status_code == 303
    refused = owner.post(path, {"label": "one-more", "action": "add"}, htmx=True)
    assert refused.status_code == 422 and "at most 20 labels" in refused.text and "one-more" in refused.text
    assert len(labels_of(url, thread)) == 20
    assert owner.post(path, {"label": "l00", "action": "add"}).status_code == 303  # one it has: fine


def test_the_list_filters_by_label_with_the_other_views(server):
    owner = login_admin(server)
    first = new_thread(server, owner, "Filter one")
    second = new_thread(server, owner, "Filter two")
    third = new_thread(server, owner, "Filter three")
    for thread in (first, second):
        owner.post(f"/admin/threads/{thread}/labels", {"label": "Ödeme", "action": "add"})
    owner.post(f"/admin/threads/{second}/status", {"status": "resolved"})
    assert set(rows(owner, "?label=ödeme")) == {first}
    assert set(rows(owner, "?label=%C3%96deme&status=resolved")) == {second}  # the filter is cleaned like a label
    assert third in rows(owner) and third not in rows(owner, "?label=ödeme")
    assert rows(owner, "?label=nothing-has-this") == {}
    page = owner.get("/admin?label=ödeme").text
    assert 'class="label-filter"' in page and "view=all&amp;status=open&amp;label=%C3%B6deme" in page
    assert owner.get("/admin?label=bad label").status_code == 400

    api = api_login(server)
    listed = api.get("/api/threads", params={"label": "ödeme"}).json()["threads"]  # any status without `status`
    assert {t["id"] for t in listed} == {first, second}
    assert all(t["labels"] == ["ödeme"] for t in listed)
    assert {t["id"] for t in api.get("/api/threads?label=ödeme&status=open").json()["threads"]} == {first}
    refused = api.get("/api/threads", params={"label": "no way!"})
    assert refused.status_code == 422
