"""A private note in the browser (SPEC §10): the agent picks "Private note", sends it, and sees it styled as a
note; the visitor's open page (live stream) never shows it, and does show the reply sent after it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import login_admin_page, message_texts, send, start_chat_page, wait_for_thread

pytestmark = pytest.mark.browser


def test_a_note_reaches_agents_only(browsers, server):
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, "Notewatcher")
    send(visitor, "hello there")
    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    thread = wait_for_thread(admin, "Notewatcher")
    admin.goto(f"/admin/threads/{thread}")

    admin.check("#composer input[name=kind][value=note]")
    send(admin, "internal: refund approved")
    note = admin.locator("#messages article[data-sender=note]")
    expect(note.locator(".msg-text")).to_have_text("internal: refund approved")
    expect(note.locator(".note-tag")).to_be_visible()
    assert note.evaluate("n => getComputedStyle(n).borderStyle") == "dashed"
    expect(admin.locator("#composer input[name=kind][value=reply]")).to_be_checked()  # back to replies

    send(admin, "We are on it")
    expect(visitor.locator("#messages article[data-sender=admin] .msg-text")).to_have_text(["We are on it"])
    assert message_texts(visitor) == ["hello there", "We are on it"]
    expect(visitor.locator("#messages article[data-sender=note]")).to_have_count(0)
    assert "refund approved" not in visitor.content()
