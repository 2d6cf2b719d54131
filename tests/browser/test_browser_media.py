"""Attachments in a real browser: images and audio live both ways, a recorded voice note (Chromium's fake
microphone), the JavaScript-off composer, and a served upload opened directly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import expect

from tests import media_files
from tests.browser import (
    BrowserSession,
    launch_chromium,
    login_admin_page,
    start_chat_page,
    wait_for_thread,
)

pytestmark = pytest.mark.browser
FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def media_browser() -> Iterator[PlaywrightBrowser]:
    with launch_chromium(*FAKE_MICROPHONE) as browser:
        yield browser


@pytest.fixture
def session(media_browser: PlaywrightBrowser) -> Iterator[BrowserSession]:
    browsers = BrowserSession(media_browser)
    try:
        yield browsers
    finally:
        browsers.close()


def attach(page, name: str, mime: str, data: bytes) -> None:
    page.set_input_files("#composer-file", files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_image_and_audio_live_both_ways(server, session):
    visitor = session.new_page(server.url)
    admin = session.new_page(server.url)
    login_admin_page(admin, server)
    start_chat_page(visitor, "Pictures")
    thread = wait_for_thread(admin, "Pictures")
    admin.goto(f"/admin/threads/{thread}")

    attach(visitor, "cat.png", "image/png", media_files.image("PNG", (40, 30)))
    expect(visitor.locator("[data-preview] img")).to_be_visible()  # preview before sending
    visitor.fill("#composer-text", "look at this")
    visitor.click("#composer button[type=submit]")
    expect(visitor.locator("[data-preview]")).to_be_hidden()

    image = admin.locator("#messages article[data-sender=visitor] figure img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("width", "40")
    expect(image).to_have_attribute("loading", "lazy")
    admin.wait_for_function("() => document.querySelector('#messages figure img').naturalWidth === 40")
    expect(admin.locator("#messages article[data-sender=visitor] .msg-text")).to_have_text("look at this")

    attach(admin, "answer.wav", "audio/wav", media_files.wav())
    expect(admin.locator("[data-preview] audio")).to_be_attached()
    admin.click("#composer button[type=submit]")
    audio = visitor.locator("#messages article[data-sender=admin] audio")
    expect(audio).to_have_count(1)
    expect(audio).to_have_attribute("preload", "none")
    assert visitor.locator("#messages article").count() == 2  # each exactly once
    session.assert_clean()


def test_voice_note_is_recorded_and_sent(server, session):
    visitor = session.new_page(server.url)
    visitor.context.grant_permissions(["microphone"])
    start_chat_page(visitor, "Voice")
    record = visitor.locator("#composer [data-record]")
    expect(record).to_be_visible()
    expect(visitor.locator("#composer [data-voice-fallback]")).to_be_hidden()
    record.click()
    expect(visitor.locator("#composer [data-recording]")).to_be_visible()
    expect(visitor.locator("#composer [data-elapsed]")).to_have_text("0:01", timeout=5000)
    record.click()  # stop
    expect(visitor.locator("#composer [data-preview] audio")).to_be_attached()
    name = visitor.locator("#composer [data-preview-name]").text_content()
    assert name.startswith("voice-note.")
    visitor.click("#composer button[type=submit]")
    audio = visitor.locator("#messages article[data-sender=visitor] audio")
    expect(audio).to_have_count(1)
    source = audio.get_attribute("src")
    response = visitor.request.get(source)
    assert response.status == 200
    assert response.headers["content-type"] in ("audio/webm", "audio/ogg")
    session.assert_clean()


def test_cancelled_recording_attaches_nothing(server, session):
    visitor = session.new_page(server.url)
    visitor.context.grant_permissions(["microphone"])
    start_chat_page(visitor, "Cancel voice")
    visitor.click("#composer [data-record]")
    expect(visitor.locator("#composer [data-recording]")).to_be_visible()
    visitor.click("#composer [data-record-cancel]")
    expect(visitor.locator("#composer [data-recording]")).to_be_hidden()
    expect(visitor.locator("#composer [data-preview]")).to_be_hidden()
    assert visitor.evaluate("() => document.querySelector('#composer-file').files.length") == 0
    session.assert_clean()


def test_composer_without_javascript(server, session):
    visitor = session.new_page(server.url, java_script_enabled=False)
    visitor.goto("/")
    visitor.fill("#display_name", "No JS files")
    visitor.click("form[action='/chat/start'] button[type=submit]")
    expect(visitor.locator("#composer-voice")).to_be_visible()  # the voice-note fallback: a capture input
    assert visitor.get_attribute("#composer-voice", "capture") == "user"
    assert visitor.get_attribute("#composer-voice", "accept") == "audio/*"
    expect(visitor.locator("#composer [data-record]")).to_be_hidden()
    visitor.set_input_files(
        "#composer-voice", files=[{"name": "memo.ogg", "mimeType": "audio/ogg", "buffer": media_files.ogg_opus()}]
    )
    visitor.click("#composer button[type=submit]")
    expect(visitor.locator("#messages article[data-sender=visitor] audio")).to_have_count(1)
    visitor.set_input_files(
        "#composer-file", files=[{"name": "x.jpg", "mimeType": "image/jpeg", "buffer": media_files.image("JPEG")}]
    )
    visitor.click("#composer button[type=submit]")
    expect(visitor.locator("#messages article[data-sender=visitor] img")).to_have_count(1)
    session.assert_clean()


def test_served_upload_opened_directly_is_inert(server, session):
    visitor = session.new_page(server.url)
    start_chat_page(visitor, "Direct")
    attach(visitor, "p.gif", "image/gif", media_files.image("GIF"))
    visitor.click("#composer button[type=submit]")
    source = visitor.locator("#messages figure img").get_attribute("src")
    session.assert_clean()
    # Open it directly, as a top-level document, with the visitor's cookies.
    viewer = visitor.context.new_page()
    response = viewer.goto(source)
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert viewer.evaluate("() => document.contentType") == "image/gif"
    assert viewer.evaluate("() => document.scripts.length") == 0
    # Even the test's own init script could not run there: the document is sandboxed without scripts.
    media_log = [text for url, _kind, text in session.log.console if url.endswith(source)]
    assert any("Blocked script execution" in text and "sandboxed" in text for text in media_log), media_log
    assert not [e for e in session.log.page_errors if source in e]


def test_voice_note_hold_to_record(server, session):
    visitor = session.new_page(server.url)
    visitor.context.grant_permissions(["microphone"])
    start_chat_page(visitor, "Hold voice")
    record = visitor.locator("#composer [data-record]")
    record.hover()
    visitor.mouse.down()
    expect(visitor.locator("#composer [data-elapsed]")).to_have_text("0:01", timeout=5000)
    visitor.mouse.up()  # releasing after a hold stops and attaches
    expect(visitor.locator("#composer [data-recording]")).to_be_hidden()
    expect(visitor.locator("#composer [data-preview] audio")).to_be_attached()
    visitor.click("#composer button[type=submit]")
    expect(visitor.locator("#messages article[data-sender=visitor] audio")).to_have_count(1)
    session.assert_clean()


def test_upload_progress_is_shown(server, session):
    visitor = session.new_page(server.url)
    start_chat_page(visitor, "Progress")
    # Record what the progress bar showed each time htmx reported upload progress (our handler runs first).
    visitor.evaluate(
        """() => {
            window.__progress = [];
            document.addEventListener("htmx:xhr:progress", () => {
                const bar = document.querySelector("#composer [data-progress]");
                window.__progress.push([bar.hidden, bar.value]);
            });
        }"""
    )
    big_wav = media_files.wav()[:44] + b"\x00" * (3 * 1024 * 1024)
    attach(visitor, "long.wav", "audio/wav", big_wav)
    visitor.click("#composer button[type=submit]")
    expect(visitor.locator("#messages article[data-sender=visitor] audio")).to_have_count(1)
    progress = visitor.evaluate("() => window.__progress")
    assert progress and all(hidden is False for hidden, _ in progress)
    assert progress[-1][1] == 100
    session.assert_clean()
