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
