"""The composer without JavaScript (issue 13): the paperclip and the microphone are the file pickers (no raw
"Choose File / No file chosen" boxes), a chosen file shows as its name, and a refused post goes back to the page
(303) with the error and the typed text, so the address bar never stays on /chat/messages. And the admin's Embed
page copies its snippet with one click (with JavaScript; without, the snippet is plain text)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import media_files
from tests.browser import BrowserSession, login_admin_page

pytestmark = pytest.mark.browser


def start_without_js(browsers: BrowserSession, url: str, name: str) -> Page:
    page = browsers.new_page(url, java_script_enabled=False)
    page.goto("/")
    page.fill("#display_name", name)
    page.click("form[action='/chat/start'] button[type=submit]")
    expect(page.locator("#composer-text")).to_be_visible()
    return page


def width(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    return box["width"] if box else 0.0


def test_file_pickers_are_icons_and_a_chosen_file_shows_its_name(server, browsers):
    page = start_without_js(browsers, server.url, "NoJS picker")
    for picker, label in (("#composer-file", "Attach an image or audio file"), ("#composer-voice", "Voice note")):
        tool = page.locator(f"label.tool[for={picker[1:]}]")
        expect(tool).to_be_visible()
        assert tool.locator("svg use").count() == 1
        expect(tool).to_have_text(label)  # its accessible name (the icon is aria-hidden)
        assert width(page, picker) <= 1, f"{picker}: the raw file input shows"
    expect(page.get_by_text("No file chosen")).to_have_count(0)

    page.set_input_files(
        "#composer-file", files=[{"name": "kitten.png", "mimeType": "image/png", "buffer": media_files.image("PNG")}]
    )
    assert width(page, "#composer-file") > 20, "the chosen file's name is not shown"
    assert width(page, "#composer-voice") <= 1
    page.click("#composer button[type=submit]")
    expect(page.locator("#messages article[data-sender=visitor] img")).to_have_count(1)
    expect(page).to_have_url(server.url + "/")
    assert width(page, "#composer-file") <= 1  # a fresh composer
    browsers.assert_clean()


def test_a_refused_post_goes_back_to_the_page_with_the_error_and_the_text(server, browsers):
    page = start_without_js(browsers, server.url, "NoJS refused")
    with page.expect_response(lambda r: r.url.endswith("/chat/messages")) as sent:
        page.click("#composer button[type=submit]")  # empty
    assert sent.value.status == 303 and sent.value.headers["location"] == "/"
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("#composer-error")).to_have_text("Write a message first.")
    expect(page.locator("#composer-text")).to_have_attribute("aria-invalid", "true")
    # Shown once: the next load is the plain page.
    page.reload()
    expect(page.locator("#composer-error")).to_have_count(0)

    # A refused file keeps what was typed.
    page.fill("#composer-text", "Here is my receipt, şöyle")
    page.set_input_files("#composer-file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}])
    page.click("#composer button[type=submit]")
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("#composer-error")).to_contain_text("not accepted")
    expect(page.locator("#composer-text")).to_have_value("Here is my receipt, şöyle")
    expect(page.locator("#messages article[data-sender=visitor]")).to_have_count(0)
    # The kept text goes on the next try.
    page.click("#composer button[type=submit]")
    expect(page.locator("#messages article[data-sender=visitor] .msg-text")).to_have_text(["Here is my receipt, şöyle"])
    browsers.assert_clean()


def test_embed_page_copies_the_snippet(server, browsers):
    page = browsers.new_page(server.url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    login_admin_page(page, server)
    page.goto("/admin/embed")
    button = page.get_by_role("button", name="Copy")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#snippet").text_content()
    assert "data-sohbet" in copied and "/embed.js" in copied

    # Without JavaScript: no dead button, the snippet is there to select.
    plain = browsers.new_page(server.url, java_script_enabled=False, storage_state=page.context.storage_state())
    plain.goto("/admin/embed")
    expect(plain.locator("#snippet")).to_contain_text("data-sohbet")
    expect(plain.get_by_role("button", name="Copy")).to_have_count(0)
    browsers.assert_clean()
