"""The chat-ended page offers the transcript (SPEC §9, §14): in Chromium, end a chat, download the transcript from
the ended page (its cookie is gone by then: the link carries a one-hour token) and open the printable page; with
and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import BrowserSession, send, start_chat_page
from tests.browser.embed_host import unique

pytestmark = pytest.mark.browser


def download_from_ended_page(page: Page) -> str:
    with page.expect_download() as downloading:
        page.locator("#ended a", has_text="Download the transcript").click()
    download = downloading.value
    assert download.suggested_filename.startswith("sohbet-transcript-") and download.suggested_filename.endswith(".txt")
    path = download.path()
    assert path is not None
    return path.read_text(encoding="utf-8")


def test_end_chat_then_download_the_transcript(server, browsers: BrowserSession):
    name = unique("Keeper")
    visitor = browsers.new_page(server.url)
    start_chat_page(visitor, name)
    send(visitor, "first question")
    send(visitor, "second, with <angle> & ampersand")
    visitor.click("form[action='/chat/end'] button[type=submit]")
    visitor.locator("dialog.ask button.danger").click()
    expect(visitor.locator("#ended h1")).to_have_text("Chat ended")
    assert not [c for c in visitor.context.cookies() if c["name"] == "sohbet_visitor"]

    text = download_from_ended_page(visitor)
    assert text.startswith(f"Sohbet\nConversation with {name}\n")  # headed by the site name
    assert f"{name}:\nfirst question" in text and f"{name}:\nsecond, with <angle> & ampersand" in text
    assert text.index("first question") < text.index("second, with") < text.index("The visitor ended the chat.")

    with visitor.context.expect_page() as opened:
        visitor.locator("#ended a", has_text="Printable page").click()
    printable = opened.value
    printable.wait_for_load_state()
    expect(printable.locator("h1")).to_have_text(f"Conversation with {name}")
    expect(printable.locator("article[data-sender=visitor] .msg-text")).to_have_text(
        ["first question", "second, with <angle> & ampersand"]
    )
    browsers.assert_clean()


def test_without_javascript_the_ended_page_links_the_transcript_too(server, browsers: BrowserSession):
    name = unique("Plain keeper")
    visitor = browsers.new_page(server.url, java_script_enabled=False)
    visitor.goto("/")
    visitor.fill("#display_name", name)
    visitor.click("form[action='/chat/start'] button[type=submit]")
    visitor.fill("#composer-text", "no script here")
    visitor.click("#composer button[type=submit]")
    visitor.click("form[action='/chat/end'] button[type=submit]")
    visitor.click("#app button.danger")
    expect(visitor.locator("#ended h1")).to_have_text("Chat ended")
    text = download_from_ended_page(visitor)
    assert f"{name}:\nno script here" in text
    browsers.assert_clean()
