"""The transcript by email from the "Chat ended" page in Chromium (SPEC §9): with JavaScript the button's box is
swapped in place (htmx), without it the form posts and 303s to a page saying it was sent; the mail arrives once
(a real SMTP server on loopback)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser import BrowserSession, send
from tests.browser.embed_host import unique
from tests.fakes.smtp import FakeSmtp
from tests.server.test_transcript_mail import PUBLIC, mails_to
from tests.support import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp():
    fake = FakeSmtp().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(make_server, smtp):
    return make_server(
        "transcript-mail-browser",
        SMTP_URL=smtp.url,
        MAIL_FROM="Support <chat@example.com>",
        ASK_EMAIL="always",
        EMAIL_AFTER="1h",
        PUBLIC_URL=PUBLIC,
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )


def start_with_email(page: Page, name: str, address: str) -> None:
    page.goto("/")
    page.fill("#display_name", name)
    page.fill("#start-email", address)
    page.click("form[action='/chat/start'] button[type=submit]")
    expect(page.locator("#composer-text")).to_be_visible()


def transcript_text(smtp: FakeSmtp, address: str) -> str:
    wait_until(lambda: mails_to(smtp, address), timeout=15, message="the transcript mail")
    time.sleep(0.5)
    (mail,) = mails_to(smtp, address)
    return mail.get_body(preferencelist=("plain",)).get_content()


def test_with_javascript_the_box_says_sent_in_place(server, smtp, browsers: BrowserSession):
    name = unique("Mailer")
    visitor = browsers.new_page(server.url)
    start_with_email(visitor, name, "js-on@example.com")
    send(visitor, "keep this for me")
    visitor.click("form[action='/chat/end'] button[type=submit]")
    visitor.locator("dialog.ask button.danger").click()
    expect(visitor.locator("#ended h1")).to_have_text("Chat ended")
    expect(visitor.locator("#transcript-mail")).to_contain_text("js-on@example.com")
    visitor.locator("#transcript-mail button[type=submit]").click()
    expect(visitor.locator("#transcript-mail [role=status]")).to_contain_text("on its way")
    expect(visitor.locator("#ended h1")).to_have_text("Chat ended")  # swapped in place: still the ended page
    assert "keep this for me" in transcript_text(smtp, "js-on@example.com")
    browsers.assert_clean()


def test_without_javascript_the_form_posts_and_a_page_says_sent(server, smtp, browsers: BrowserSession):
    name = unique("Plain mailer")
    visitor = browsers.new_page(server.url, java_script_enabled=False)
    start_with_email(visitor, name, "js-off@example.com")
    visitor.fill("#composer-text", "no script, mail it")
    visitor.click("#composer button[type=submit]")
    visitor.click("form[action='/chat/end'] button[type=submit]")
    visitor.click("#app button.danger")
    expect(visitor.locator("#ended h1")).to_have_text("Chat ended")
    visitor.locator("#transcript-mail button[type=submit]").click()
    expect(visitor.locator("#transcript-mail [role=status]")).to_contain_text("on its way")
    assert "/chat/transcript/email?sent=1" in visitor.url
    assert "no script, mail it" in transcript_text(smtp, "js-off@example.com")
    browsers.assert_clean()
