"""A visitor's own data (SPEC §11), through HTTP: GET /chat/export is a zip with conversation.json (their
conversation, the messages they can see — never an agent's note —, their ratings) and their files; only their own
conversation, by their cookie; another visitor, no cookie or a revoked one get 403."""

from __future__ import annotations

import io
import json
import zipfile

from tests import media_files
from tests.support import Browser, find_thread, login_admin, start_visitor


def exported(visitor: Browser) -> tuple[dict, dict[str, bytes]]:
    response = visitor.http.get("/chat/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="sohbet-conversation-')
    assert "no-store" in response.headers["cache-control"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("conversation.json")), files


def test_the_export_holds_the_visitors_own_data_and_nothing_else(server):
    admin = login_admin(server)
    assert 'href="/chat/privacy"' in Browser(server.url).get("/").text  # the start page's notice links it
    ayse = start_visitor(server.url, "Ayşe Export")
    other = start_visitor(server.url, "Other Export")
    assert other.post("/chat/messages", {"text": "someone else's secret"}).status_code == 303
    assert ayse.post("/chat/messages", {"text": "my question, <b>İstanbul</b>"}).status_code == 303
    photo = media_files.image("PNG", (20, 10))
    sent = ayse.post(
        "/chat/messages",
        {"text": "a photo", "_csrf_token": ayse.csrf_token},
        csrf=False,
        files={"file": ("photo.png", photo, "image/png")},
    )
    assert sent.status_code == 303, sent.text
    thread = find_thread(admin, "Ayşe Export")
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": "our answer"}).status_code == 303
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": "internal only", "kind": "note"}).status_code == 303

    document, files = exported(ayse)
    assert document["conversation"]["display_name"] == "Ayşe Export" and document["conversation"]["id"] == thread
    texts = [(m["from"], m["text"]) for m in document["messages"]]
    assert texts == [("you", "my question, <b>İstanbul</b>"), ("you", "a photo"), ("support", "our answer")]
    with_file = document["messages"][1]
    assert list(files) == [with_file["file"]] and with_file["file"] == "files/2-photo.png"
    assert files[with_file["file"]].startswith(b"\x89PNG")  # the stored file (re-encoded on upload, metadata gone)
    raw = json.dumps(document, ensure_ascii=False)
    assert "internal only" not in raw and "someone else's secret" not in raw
    assert document["ratings"] == [] and document["notes"] == []


def test_only_by_the_visitors_own_cookie(server):
    assert Browser(server.url).http.get("/chat/export").status_code == 403
    leaving = start_visitor(server.url, "Leaving Export")
    assert leaving.post("/chat/end", {"confirm": "yes"}).status_code in (200, 303)  # the "chat ended" page
    assert leaving.http.get("/chat/export").status_code == 403  # the token was revoked by ending the chat


def test_the_visitor_deletes_their_conversation_for_good(server):
    admin = login_admin(server)
    gone = start_visitor(server.url, "Delete Me")
    assert gone.post("/chat/messages", {"text": "please forget me"}).status_code == 303
    thread = find_thread(admin, "Delete Me")
    page = gone.get("/chat/privacy")
    assert page.status_code == 200 and 'href="/chat/export"' in page.text and 'action="/chat/delete"' in page.text
    unticked = gone.post("/chat/delete", {})
    assert unticked.status_code == 200 and 'id="delete-error"' in unticked.text
    assert gone.http.get("/chat/export").status_code == 200  # nothing deleted yet
    deleted = gone.post("/chat/delete", {"confirm": "yes"})
    assert deleted.status_code == 200 and "were deleted" in deleted.text
    assert 'sohbet_visitor=""' in deleted.headers["set-cookie"] or "Max-Age=0" in deleted.headers["set-cookie"]
    assert admin.get(f"/admin/threads/{thread}").status_code == 404
    assert gone.http.get("/chat/export").status_code == 403
    assert "Delete Me" not in admin.get("/admin/search", params={"q": "forget"}).text  # its index entries went too
    assert "Conversation erased" in admin.get("/admin/audit").text


def test_owners_erase_by_email(server):
    admin = login_admin(server)
    for name in ("Mail One", "Mail Two"):
        visitor = Browser(server.url)
        visitor.get("/")
        assert visitor.post("/chat/start", {"display_name": name, "email": "Erase.Me@example.com"}).status_code == 303
    keep = Browser(server.url)
    keep.get("/")
    assert keep.post("/chat/start", {"display_name": "Mail Keep", "email": "keep@example.com"}).status_code == 303
    bad = admin.post("/admin/privacy", {"email": "not an address"})
    assert bad.status_code == 422 and 'value="not an address"' in bad.text
    found = admin.post("/admin/privacy", {"email": "erase.me@EXAMPLE.com"})
    assert found.status_code == 200 and found.text.count("data-thread=") == 2
    erased = admin.post("/admin/privacy", {"email": "erase.me@example.com", "confirm": "yes"})
    assert erased.status_code == 200 and "Erased 2 conversation(s)" in erased.text
    names = admin.get("/admin").text
    assert "Mail One" not in names and "Mail Two" not in names and "Mail Keep" in names
    assert "No conversation has this address" in admin.post("/admin/privacy", {"email": "erase.me@example.com"}).text
