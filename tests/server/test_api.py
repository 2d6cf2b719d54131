"""The JSON API (SPEC §2): login with a code, threads, paged messages, sending text and files, clearing,
and the error shape {success: false, error, code, status} for every failure."""

from __future__ import annotations

import httpx
import pytest

from tests import media_files
from tests.support import ADMIN_PASSWORD, Browser, find_thread, login_admin, start_visitor, wait_until


class ApiClient:
    """A script talking JSON: it fetches one page for the CSRF cookie, then sends the token as a header."""

    def __init__(self, server) -> None:
        self.browser = Browser(server.url)
        self.browser.get("/")
        self.http = self.browser.http
        self.headers = {"x-csrftoken": self.browser.csrf_token, "Accept": "application/json"}

    def post(self, path: str, json: dict | None = None, **kwargs) -> httpx.Response:
        return self.http.post(path, json=json, headers=self.headers, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, headers=self.headers, **kwargs)


def api_login(server) -> ApiClient:
    client = ApiClient(server)
    before = len(server.login_codes())
    response = client.post("/admin/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200 and response.json() == {"success": True, "otp_sent": True}
    code = wait_until(lambda: server.login_codes()[before:], message="a login code")[-1]
    assert code not in response.text
    verified = client.post("/admin/verify-otp", {"otp": code})
    assert verified.status_code == 200 and verified.json() == {"success": True}
    assert client.http.cookies.get("sohbet_admin")
    return client


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["status"] == status and body["error"]
    if code:
        assert body["code"] == code
    return body


def test_login_flow_and_wrong_code(server):
    client = ApiClient(server)
    assert_error(client.post("/admin/login", {"username": "admin", "password": "nope"}), 401)
    before = len(server.login_codes())
    client.post("/admin/login", {"username": "admin", "password": ADMIN_PASSWORD})
    code = wait_until(lambda: server.login_codes()[before:])[-1]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert_error(client.post("/admin/verify-otp", {"otp": wrong}), 401)
    assert client.post("/admin/verify-otp", {"otp": code}).status_code == 200
    assert client.get("/api/threads").status_code == 200


def test_threads_messages_send_and_clear(server):
    client = api_login(server)
    visitor = start_visitor(server.url, "Api visitor")
    for index in range(5):
        visitor.post("/chat/messages", {"text": f"q{index}"})
    threads = client.get("/api/threads").json()
    assert threads["success"] is True
    thread = next(t for t in threads["threads"] if t["display_name"] == "Api visitor")
    assert thread["unread_count"] == 5 and thread["preview"] == "q4"

    page = client.get(f"/api/messages/{thread['id']}", params={"limit": 2}).json()
    assert [m["text"] for m in page["messages"]] == ["q3", "q4"]
    assert page["has_more"] is True and page["next_before"] == 4
    older = client.get(f"/api/messages/{thread['id']}", params={"limit": 10, "before": 4}).json()
    assert [m["text"] for m in older["messages"]] == ["q0", "q1", "q2"] and older["has_more"] is False

    sent = client.post("/api/messages/send", {"thread_id": thread["id"], "text": "answer", "type": "text"})
    assert sent.status_code == 201 and sent.json()["message"]["sender"] == "admin"
    assert "answer" in visitor.get("/").text

    assert client.post("/api/messages/clear", {"thread_id": thread["id"]}).json() == {"success": True}
    assert client.get(f"/api/messages/{thread['id']}").json()["messages"] == []


def test_upload_then_send_files(server):
    client = api_login(server)
    visitor = start_visitor(server.url, "Api files")
    visitor.post("/chat/messages", {"text": "a picture please"})
    thread = find_thread(login_admin(server), "Api files")
    image = client.post("/api/upload/image", files={"file": ("m.png", media_files.image("PNG"), "image/png")})
    assert image.status_code == 201
    file_url = image.json()["file_url"]
    assert file_url.startswith("/media/") and image.json()["success"] is True
    assert client.http.get(file_url).status_code == 200  # the admin may fetch an unsent upload
    assert visitor.http.get(file_url).status_code == 404  # nobody else may
    sent = client.post(
        "/api/messages/send", {"thread_id": thread, "type": "image", "file_url": file_url, "text": "here you go"}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["message"]["file_url"] == file_url and sent.json()["message"]["type"] == "image"
    page = visitor.get("/").text
    assert f'src="{file_url}"' in page and "here you go" in page
    assert visitor.http.get(file_url).status_code == 200  # now it is this visitor's too
    # An upload can be used once.
    again = client.post("/api/messages/send", {"thread_id": thread, "type": "image", "file_url": file_url})
    assert_error(again, 422)
    audio = client.post("/api/upload/audio", files={"file": ("v.ogg", media_files.ogg_opus(), "audio/ogg")})
    assert audio.status_code == 201
    wrong_type = client.post(
        "/api/messages/send", {"thread_id": thread, "type": "image", "file_url": audio.json()["file_url"]}
    )
    assert_error(wrong_type, 422)
    assert (
        client.post(
            "/api/messages/send", {"thread_id": thread, "type": "audio", "file_url": audio.json()["file_url"]}
        ).status_code
        == 201
    )
    # Audio sent to the image endpoint, and a refused file.
    assert_error(client.post("/api/upload/image", files={"file": ("v.ogg", media_files.ogg_opus())}), 415)
    assert_error(client.post("/api/upload/image", files={"file": ("x.svg", media_files.SVG_WITH_SCRIPT)}), 415)


def test_error_shape_for_every_failure(server):
    anonymous = ApiClient(server)
    assert_error(anonymous.get("/api/threads"), 401, "unauthorized")
    client = api_login(server)
    assert_error(client.http.post("/api/messages/send", json={"thread_id": 1, "text": "x"}), 403, "csrf_failed")
    assert_error(client.get("/api/messages/999999"), 404, "not_found")
    assert_error(client.post("/api/messages/send", {"thread_id": 999999, "text": "x"}), 404)
    assert_error(client.post("/api/messages/send", {"text": "no thread"}), 400)
    assert_error(client.post("/api/messages/send", {"thread_id": "abc"}), 400)
    assert_error(client.http.post("/api/messages/send", content=b"{not json", headers=client.headers), 400)
    assert_error(client.get("/api/messages/send"), 405)
    visitor = start_visitor(server.url, "Api errors")
    visitor.post("/chat/messages", {"text": "hi"})
    thread = client.get("/api/threads").json()["threads"][0]["id"]
    assert_error(client.post("/api/messages/send", {"thread_id": thread, "text": "   "}), 422)
    assert_error(client.get(f"/api/messages/{thread}", params={"limit": 0}), 400)
    huge = client.post("/api/upload/audio", files={"file": ("big.mp3", b"\x00" * (12 * 1024 * 1024))})
    assert_error(huge, 413)


def test_api_rate_limit(make_server):
    server = make_server("api-limit", RATE_LIMIT_API="3/minute")
    client = api_login(server)
    statuses = [client.get("/api/threads").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert_error(client.get("/api/threads"), 429, "rate_limited")


def test_openapi_lists_the_api_only(server):
    schema = httpx.get(server.url + "/schema/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/threads",
        "/api/messages/{thread_id}",
        "/api/messages/send",
        "/api/messages/clear",
        "/api/upload/image",
        "/api/upload/audio",
        "/admin/login",
        "/admin/verify-otp",
    } <= paths
    assert not {"/", "/chat/messages", "/admin", "/login", "/chat/events"} & paths
    page = httpx.get(server.url + "/schema")
    assert "cdn" not in page.text.lower() or page.status_code == 404


@pytest.mark.parametrize("path", ["/api/threads", "/api/messages/1"])
def test_api_sends_no_store(server, path):
    client = api_login(server)
    assert client.get(path).headers["cache-control"] == "no-store"


# -- Flask Chat v2.3's field names (SPEC §13) ------------------------------------------------------------------

OLD_MESSAGE_FIELDS = ["id", "thread_id", "content_text", "content_type", "sender_type", "created_at"]
OLD_THREAD_FIELDS = ["id", "created_at", "last_activity", "status", "message_count"]


def test_messages_carry_the_old_field_names(server):
    client = api_login(server)
    visitor = start_visitor(server.url, "Old fields")
    visitor.post("/chat/messages", {"text": "from the visitor"})
    thread = find_thread(login_admin(server), "Old fields")
    image = client.post("/api/upload/image", files={"file": ("m.png", media_files.image("PNG"), "image/png")})
    sent = client.post(
        "/api/messages/send", {"thread_id": thread, "type": "image", "file_url": image.json()["file_url"], "text": "p"}
    ).json()
    assert list(sent)[:3] == ["success", "message_id", "thread_id"]
    assert sent["success"] is True and sent["thread_id"] == thread and sent["message_id"] == sent["message"]["id"]
    messages = client.get(f"/api/messages/{thread}").json()["messages"]
    assert [list(m)[: len(OLD_MESSAGE_FIELDS)] for m in messages] == [OLD_MESSAGE_FIELDS] * 2
    first, second = messages
    assert (first["thread_id"], first["content_text"], first["content_type"], first["sender_type"]) == (
        thread,
        "from the visitor",
        "text",
        "visitor",
    )
    assert (second["id"], second["content_text"], second["content_type"], second["sender_type"]) == (
        sent["message_id"],
        "p",
        "image",
        "admin",
    )
    assert second["file_url"] == image.json()["file_url"] and first["file_url"] is None
    # Today's names stay beside them, with the same values.
    assert (second["text"], second["type"], second["sender"]) == ("p", "image", "admin")


def test_threads_carry_the_old_field_names(server):
    client = api_login(server)
    visitor = start_visitor(server.url, "Old thread fields")
    for text in ("one", "two", "three"):
        visitor.post("/chat/messages", {"text": text})
    thread = next(t for t in client.get("/api/threads").json()["threads"] if t["display_name"] == "Old thread fields")
    assert list(thread)[: len(OLD_THREAD_FIELDS)] == OLD_THREAD_FIELDS
    assert thread["message_count"] == 3 and thread["status"] == "active"
    assert thread["last_activity"] == thread["last_activity_at"] and thread["created_at"] <= thread["last_activity"]
    visitor.post("/chat/end", {"confirm": "yes"})  # the system note is a message too
    ended = next(t for t in client.get("/api/threads").json()["threads"] if t["id"] == thread["id"])
    assert ended["status"] == "ended" and ended["message_count"] == 4
    client.post("/api/messages/clear", {"thread_id": thread["id"]})
    cleared = next(t for t in client.get("/api/threads").json()["threads"] if t["id"] == thread["id"])
    assert cleared["message_count"] == 0


def test_threads_are_paged_with_a_cursor(make_server):
    server = make_server("api-paging")
    for index in range(120):
        start_visitor(server.url, f"Paged {index}")
    client = api_login(server)
    seen: list[str] = []
    params: dict = {}
    while True:
        page = client.get("/api/threads", params=params).json()
        assert page["success"] is True and len(page["threads"]) == (50 if len(seen) < 100 else 20)
        seen += [t["display_name"] for t in page["threads"]]
        if not page["has_more"]:
            assert page["next_before"] is None
            break
        params = {"before": page["next_before"]}
    assert seen == [f"Paged {index}" for index in reversed(range(120))]
    small = client.get("/api/threads", params={"limit": 7}).json()
    assert [t["display_name"] for t in small["threads"]] == [f"Paged {i}" for i in range(119, 112, -1)]
    for bad in ({"limit": 0}, {"limit": 201}, {"before": "yesterday"}, {"before": "1_"}):
        assert_error(client.get("/api/threads", params=bad), 400)
