"""MESSAGE_RETENTION: old messages and idle conversations are deleted with their files; visitors are told."""

from __future__ import annotations

from pathlib import Path

from tests import media_files
from tests.support import Browser, start_visitor, wait_until


def upload(client: Browser, name: str, data: bytes) -> int:
    return client.http.post(
        "/chat/messages", data={"text": "", "_csrf_token": client.csrf_token}, files={"file": (name, data)}
    ).status_code


def test_retention_deletes_messages_conversations_and_files(make_server):
    server = make_server("retention", MESSAGE_RETENTION="2s")
    uploads = Path(server.env["DATA_DIR"]) / "uploads"
    notice = "Messages are deleted after 2 seconds."
    assert notice in Browser(server.url).get("/").text

    idle = start_visitor(server.url, "Idle")
    idle.post("/chat/messages", {"text": "forget me"})
    assert upload(idle, "p.png", media_files.image("PNG")) == 303
    page = idle.get("/").text
    assert notice in page and "forget me" in page
    assert len(list(uploads.iterdir())) == 1

    # An idle conversation goes entirely, its file too.
    wait_until(lambda: 'action="/chat/start"' in idle.get("/").text, timeout=15, message="idle conversation deleted")
    wait_until(lambda: not list(uploads.iterdir()), timeout=15, message="its file deleted")

    # An active one keeps its recent messages and loses the old ones.
    active = start_visitor(server.url, "Active")
    active.post("/chat/messages", {"text": "old message"})

    def old_gone_new_kept() -> bool:
        active.post("/chat/messages", {"text": "fresh message"})
        page = active.get("/").text
        return "old message" not in page and "fresh message" in page

    wait_until(old_gone_new_kept, timeout=15, interval=0.5, message="the old message deleted, the new kept")


def test_no_notice_without_retention(server):
    assert "Messages are deleted after" not in Browser(server.url).get("/").text
