"""Typing indicators and read receipts in real browsers (SPEC §10): the agent sees "typing" within 1 s of the
visitor typing, and it vanishes 6 s after the last one; the visitor sees "Seen" live when the agent opens the
conversation."""

from __future__ import annotations

import secrets
import time

import pytest
from playwright.sync_api import expect

from tests.browser import assert_not_reloaded, login_admin_page, mark_page, start_chat_page, wait_for_thread

pytestmark = pytest.mark.browser


def test_the_agent_sees_typing_within_a_second_and_it_vanishes_after_six(server, browsers):
    admin = browsers.new_page(server.url)
    login_admin_page(admin, server)
    visitor = browsers.new_page(server.url)
    name = f"Typing {secrets.token_hex(3)}"
    start_chat_page(visitor, name)
    thread = wait_for_thread(admin, name)
    admin.goto(f"/admin/threads/{thread}")
    mark_page(admin)
    expect(visitor.locator(".msg.mine small#seen")).to_have_count(0)
    indicator = admin.locator(".typing-line")
    expect(indicator).to_be_empty()

    visitor.locator("#composer-text").press_sequentially("Where is my order", delay=30)
    typed_at = time.monotonic()
    expect(indicator).to_contain_text("typing", timeout=1_000)
    expect(indicator).not_to_contain_text("order")  # TYPING_PREVIEW is off: no draft
    expect(indicator).to_be_empty(timeout=9_000)
    gone_after = time.monotonic() - typed_at
    assert 5.0 <= gone_after <= 9.0, gone_after  # 6 s after the last one (the typing took ~0.5 s)

    # Sent: the agent's screen shows the message (the visitor's message also clears any indicator at once).
    visitor.locator("#composer-text").press("Enter")
    expect(admin.locator("#messages .msg[data-sender=visitor]")).to_have_count(1)
    # Read receipt, live: the agent's stream showed it, so the visitor's message says "Seen".
    expect(visitor.locator(".msg.mine small#seen")).to_contain_text("Seen", timeout=3_000)
    expect(visitor.locator("small#seen")).to_have_count(1)

    # The other way: the agent types, the visitor sees "Support is typing…".
    admin.locator("#composer-text").press_sequentially("On its way", delay=30)
    status = visitor.locator("#support-status")  # the status line says it (no slot of its own: the 25 KB)
    expect(status).to_contain_text("Support is typing", timeout=1_000)
    admin.locator("#composer-text").press("Enter")
    expect(status).to_contain_text("Support is online", timeout=3_000)  # the reply arrived: cleared
    expect(visitor.locator("#support-status")).to_have_count(1)
    expect(admin.locator(".msg.mine small#seen")).to_contain_text("Seen", timeout=3_000)  # the visitor saw it
    assert_not_reloaded(admin)
    browsers.assert_clean()
