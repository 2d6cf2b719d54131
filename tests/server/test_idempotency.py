"""Idempotent posts (SPEC §13): a composer form carries a `client_msg_id`, a JSON send may carry an
`Idempotency-Key`; a repeat with the same id for the same conversation stores nothing new and is answered as the
first post was — one copy, several copies at once, with a file, over the forms and over the JSON API."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests import media_files
from tests.server.test_api import api_login
from tests.support import Browser, login_admin, sql, start_visitor

ID_RE = re.compile(r'name="client_msg_id" value="([^"]+)"')


def conversation_id(server, name: str) -> int:
    return sql(server.env["DATABASE_URL"], "SELECT id FROM conversation WHERE display_name = ?", name)[0][0]


def stored(server, conversation: int) -> list[tuple]:
    """(sender, client_msg_id) of the conversation's messages, in order."""
    query = "SELECT sender, client_msg_id FROM message WHERE conversation = ? ORDER BY seq"
    return sql(server.env["DATABASE_URL"], query, conversation)


def composer_id(page: str) -> str:
    return ID_RE.search(page).group(1)


def test_every_composer_carries_a_fresh_client_id(server):
    visitor = start_visitor(server.url, "Ids")
    first, second = composer_id(visitor.get("/").text), composer_id(visitor.get("/").text)
    assert first != second and re.fullmatch(r"[A-Za-z0-9_-]{8,64}", first)
    fresh = visitor.post("/chat/messages", {"text": "one", "client_msg_id": first}, htmx=True)
    assert composer_id(fresh.text) not in (first, second)  # the next message gets a new id
    assert composer_id(visitor.get("/embed").text)
    admin = login_admin(server)
    thread = conversation_id(server, "Ids")
    assert composer_id(admin.get(f"/admin/threads/{thread}").text)


def test_plain_form_post_twice_stores_once(server):
    visitor = start_visitor(server.url, "Twice plain")
    key = composer_id(visitor.get("/").text)
    answers = [visitor.post("/chat/messages", {"text": "only once", "client_msg_id": key}) for _ in range(2)]
    assert [(a.status_code, a.headers["location"]) for a in answers] == [(303, "/"), (303, "/")]
    assert stored(server, conversation_id(server, "Twice plain")) == [("visitor", key)]
    assert visitor.get("/").text.count("only once") == 1


def test_htmx_post_twice_stores_once(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Twice htmx")
    visitor.post("/chat/messages", {"text": "hello"})
    thread = conversation_id(server, "Twice htmx")
    key = composer_id(admin.get(f"/admin/threads/{thread}").text)
    answers = [
        admin.post(f"/admin/threads/{thread}/messages", {"text": "reply once", "client_msg_id": key}, htmx=True)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert all(a.text.lstrip().startswith('<form id="composer"') and "error" not in a.text for a in answers)
    assert stored(server, thread) == [("visitor", None), ("admin", key)]


def test_the_same_id_in_another_conversation_is_independent(server):
    one, two = start_visitor(server.url, "Indep one"), start_visitor(server.url, "Indep two")
    key = "same-key-for-both"
    assert one.post("/chat/messages", {"text": "a", "client_msg_id": key}).status_code == 303
    assert two.post("/chat/messages", {"text": "b", "client_msg_id": key}).status_code == 303
    assert stored(server, conversation_id(server, "Indep one")) == [("visitor", key)]
    assert stored(server, conversation_id(server, "Indep two")) == [("visitor", key)]


def test_a_bad_client_id_is_refused_clearly(server):
    visitor = start_visitor(server.url, "Bad ids")
    for bad in ("short", "x" * 65, "has space in it", "semi;colon;x"):
        htmx = visitor.post("/chat/messages", {"text": "kept text", "client_msg_id": bad}, htmx=True)
        assert htmx.status_code == 422 and "message id is not valid" in htmx.text and "kept text" in htmx.text
        plain = visitor.post("/chat/messages", {"text": "kept text", "client_msg_id": bad})
        assert plain.status_code == 422 and "message id is not valid" in plain.text
    assert stored(server, conversation_id(server, "Bad ids")) == []
    # A form without the field (an old page) still posts, without the guarantee.
    assert visitor.post("/chat/messages", {"text": "no id"}).status_code == 303


def test_file_post_twice_stores_one_message_and_one_file(server):
    visitor = start_visitor(server.url, "Twice file")
    key = composer_id(visitor.get("/").text)
    for _ in range(2):
        answer = visitor.post(
            "/chat/messages",
            {"text": "a photo", "client_msg_id": key},
            files={"file": ("p.png", media_files.image("PNG"), "image/png")},
        )
        assert answer.status_code == 303, answer.text
    thread = conversation_id(server, "Twice file")
    assert stored(server, thread) == [("visitor", key)]
    files = sql(server.env["DATABASE_URL"], "SELECT count(*) FROM attachment WHERE conversation = ?", thread)
    assert files == [(1,)]


def test_json_send_with_idempotency_key_twice_stores_once(server):
    client = api_login(server)
    start_visitor(server.url, "Twice json").post("/chat/messages", {"text": "q"})
    thread = conversation_id(server, "Twice json")
    body = {"thread_id": thread, "text": "api once", "type": "text"}
    headers = {**client.headers, "Idempotency-Key": "retry-me-0001"}
    answers = [client.http.post("/api/messages/send", json=body, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    first, second = (a.json() for a in answers)
    assert first == second and first["success"] is True
    assert stored(server, thread) == [("visitor", None), ("admin", "retry-me-0001")]
    # Without the header every send is a new message; a bad key is a clear 400.
    assert client.post("/api/messages/send", body).status_code == 201
    assert client.post("/api/messages/send", body).status_code == 201
    assert len(stored(server, thread)) == 4
    bad = client.http.post("/api/messages/send", json=body, headers={**client.headers, "Idempotency-Key": "no"})
    assert bad.status_code == 400 and bad.json()["success"] is False and "Idempotency-Key" in bad.json()["error"]
    assert len(stored(server, thread)) == 4


def test_concurrent_copies_store_once(server):
    visitor = start_visitor(server.url, "Racing")
    admin = login_admin(server)
    thread = conversation_id(server, "Racing")
    admin_key = composer_id(admin.get(f"/admin/threads/{thread}").text)
    visitor_key = composer_id(visitor.get("/").text)

    async def burst(browser: Browser, path: str, text: str, key: str, htmx: bool) -> list[int]:
        form = {"text": text, "client_msg_id": key, "_csrf_token": browser.csrf_token}
        headers = {"HX-Request": "true"} if htmx else {}
        async with httpx.AsyncClient(base_url=server.url, cookies=browser.http.cookies, timeout=20) as http:
            answers = await asyncio.gather(*(http.post(path, data=form, headers=headers) for _ in range(5)))
        return [a.status_code for a in answers]

    assert asyncio.run(burst(visitor, "/chat/messages", "raced", visitor_key, False)) == [303] * 5
    admin_path = f"/admin/threads/{thread}/messages"
    assert asyncio.run(burst(admin, admin_path, "raced reply", admin_key, True)) == [200] * 5

    client = api_login(server)
    headers = {**client.headers, "Idempotency-Key": "racing-json-key"}
    body = {"thread_id": thread, "text": "raced json", "type": "text"}

    async def json_burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, cookies=client.http.cookies, timeout=20) as http:
            return await asyncio.gather(
                *(http.post("/api/messages/send", json=body, headers=headers) for _ in range(5))
            )

    answers = asyncio.run(json_burst())
    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["message"]["id"] for a in answers}) == 1
    assert stored(server, thread) == [("visitor", visitor_key), ("admin", admin_key), ("admin", "racing-json-key")]
