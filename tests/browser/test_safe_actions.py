"""Destructive actions confirm, in a real browser (SPEC §14): with JavaScript a dialog of the page asks first and
"cancel" keeps everything; without it a page asks. "Clear conversation" is a small action, not the header's
biggest button. "End chat" ends on a "chat ended" page with the conversation, also in the widget's sandboxed
iframe (where window.confirm would be refused)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser import (
    assert_not_reloaded,
    login_admin_page,
    mark_page,
    message_texts,
    send,
    start_chat_page,
    wait_for_thread,
)
from tests.browser.embed_host import HostSite, chat_frame, embedding_server, host_page, launcher, unique
from tests.support import Server, find_thread, login_admin

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def height_and_font(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box, selector
    return box["height"], float(page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)"))


def visitor_cookie(page: Page) -> list[str]:
    return [c["value"] for c in page.context.cookies() if c["name"] == "sohbet_visitor"]


def test_clear_asks_in_a_dialog_cancel_keeps_everything_and_the_button_is_small(server, browsers):
    name = unique("Keep")
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, name)
    send(visitor, "precious words")

    admin = browsers.new_page(server.url, viewport=DESKTOP)
    login_admin_page(admin, server)
    thread = wait_for_thread(admin, name)
    admin.goto(f"/admin/threads/{thread}")
    mark_page(admin)
    clear = f"form[action='/admin/threads/{thread}/clear'] button[type=submit]"
    for size in (DESKTOP, PHONE):
        admin.set_viewport_size(size)
        expect(admin.locator(clear)).to_be_visible()
        # A small action, not the biggest button around: lower and in smaller type than the composer's Send.
        height, font = height_and_font(admin, clear)
        send_height, send_font = height_and_font(admin, "#composer button[type=submit]")
        assert height < 0.8 * send_height and font < send_font, (size, height, font, send_height, send_font)

    admin.click(clear)
    dialog = admin.locator("dialog.ask")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Clear the conversation with {name}?")
    dialog.locator("button.secondary").click()  # Cancel
    expect(dialog).to_have_count(0)
    assert_not_reloaded(admin)
    admin.reload()  # what the server has, not only what the page still shows
    assert message_texts(admin) == ["precious words"]
    assert message_texts(visitor) == ["precious words"]

    admin.click(clear)
    expect(admin.locator("dialog.ask")).to_be_visible()  # after a reload, later.js (the dialog) loads first
    admin.keyboard.press("Escape")  # Escape cancels too
    expect(admin.locator("dialog.ask")).to_have_count(0)
    admin.reload()
    assert message_texts(admin) == ["precious words"]

    admin.click(clear)
    admin.locator("dialog.ask button.danger").click()
    expect(admin).to_have_url(re.compile(rf"/admin/threads/{thread}$"))
    expect(admin.locator("#messages article")).to_have_count(0)
    expect(visitor.locator("#messages article")).to_have_count(0)
    browsers.assert_clean()


def test_clear_without_javascript_asks_on_a_page(server, browsers):
    name = unique("NoJsKeep")
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, name)
    send(visitor, "kept until confirmed")
    thread = find_thread(login_admin(server), name)
    admin = browsers.new_page(server.url, java_script_enabled=False)
    login_admin_page(admin, server)  # plain form posts
    admin.goto(f"/admin/threads/{thread}")
    admin.click(f"form[action='/admin/threads/{thread}/clear'] button[type=submit]")
    expect(admin.locator("h1")).to_have_text(f"Clear the conversation with {name}?")
    admin.click("text=Cancel")
    expect(admin).to_have_url(re.compile(rf"/admin/threads/{thread}$"))
    assert message_texts(admin) == ["kept until confirmed"]
    admin.click(f"form[action='/admin/threads/{thread}/clear'] button[type=submit]")
    admin.click("main button.danger")
    expect(admin).to_have_url(re.compile(rf"/admin/threads/{thread}$"))
    expect(admin.locator("#messages article")).to_have_count(0)
    browsers.assert_clean()


def test_end_chat_asks_then_shows_the_ended_page_with_the_conversation(server, browsers):
    visitor = browsers.new_page(server.url, viewport=PHONE)
    start_chat_page(visitor, unique("Ender"))
    send(visitor, "hello there")
    end = "form[action='/chat/end'] button[type=submit]"

    visitor.click(end)
    dialog = visitor.locator("dialog.ask")
    expect(dialog).to_contain_text("End this chat?")
    dialog.locator("button.secondary").click()  # Keep chatting
    expect(dialog).to_have_count(0)
    send(visitor, "still here")  # the chat goes on
    assert message_texts(visitor) == ["hello there", "still here"]
    assert visitor_cookie(visitor)

    visitor.click(end)
    visitor.locator("dialog.ask button.danger").click()
    ended = visitor.locator("#ended")
    expect(ended.locator("h1")).to_have_text("Chat ended")
    expect(ended.locator(".transcript .msg-text")).to_have_text(["hello there", "still here"])
    expect(ended.locator("a", has_text="Start a new chat")).to_have_attribute("href", "/")
    expect(visitor.locator("#chat")).to_have_count(0)
    assert_not_reloaded(visitor)  # htmx swapped it in
    assert visitor_cookie(visitor) == []
    visitor.wait_for_timeout(500)  # a late notice from the closed stream changes nothing
    expect(visitor.locator("#ended h1")).to_have_text("Chat ended")

    ended.locator("a", has_text="Start a new chat").click()
    expect(visitor.locator("form[action='/chat/start']")).to_be_visible()
    browsers.assert_clean()


def test_end_chat_without_javascript_asks_on_a_page(server, browsers):
    visitor = browsers.new_page(server.url, java_script_enabled=False)
    visitor.goto("/")
    visitor.fill("#display_name", unique("NoJsEnder"))
    visitor.click("form[action='/chat/start'] button[type=submit]")
    visitor.fill("#composer-text", "plain words")
    visitor.click("#composer button[type=submit]")
    end = "form[action='/chat/end'] button[type=submit]"

    visitor.click(end)
    expect(visitor.locator("h1")).to_have_text("End this chat?")
    visitor.click("text=Keep chatting")
    expect(visitor.locator("#messages .msg-text")).to_have_text(["plain words"])  # a page load: wait for it
    visitor.click(end)
    visitor.click("#app button.danger")
    expect(visitor.locator("#ended h1")).to_have_text("Chat ended")
    expect(visitor.locator("#ended .transcript .msg-text")).to_have_text(["plain words"])
    assert visitor_cookie(visitor) == []
    browsers.assert_clean()


# -- in the widget ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sohbet(make_server: Callable[..., Server], host_site: HostSite) -> Server:
    return embedding_server(make_server, "safe-embed", host_site)


def test_end_chat_in_the_widget_asks_and_shows_the_ended_page(sohbet, host_site, browsers):
    page = host_page(browsers, host_site.url)
    page.goto("/page1")
    launcher(page).click()
    frame = chat_frame(page, sohbet)
    frame.locator("#display_name").fill(unique("Widget ender"))
    frame.locator("#display_name").press("Enter")
    # The chat page is a new document: Enter sends once app.js runs (html.js), before that it is a new line.
    frame.locator("html.js #composer-text").fill("from the shop")
    frame.locator("#composer-text").press("Enter")
    expect(frame.locator("#messages .msg-text")).to_have_text(["from the shop"])

    frame.locator("form[action='/chat/end?embed=1'] button[type=submit]").click()
    dialog = frame.locator("dialog.ask")
    expect(dialog).to_contain_text("End this chat?")  # in the sandboxed iframe, where confirm() is refused
    dialog.locator("button.danger").click()
    expect(frame.locator("#ended h1")).to_have_text("Chat ended")
    expect(frame.locator("#ended .transcript .msg-text")).to_have_text(["from the shop"])
    expect(frame.locator("#ended a", has_text="Start a new chat")).to_have_attribute("href", "/embed")
    browsers.assert_clean()
