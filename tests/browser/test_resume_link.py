"""The resume link of a replies-by-email mail in Chromium (SPEC §9): a visitor left with an address, an agent
replied, the mail arrived (a real SMTP server on loopback); a fresh browser context (another device) opens the
link, sees the conversation, and a reply typed there reaches the agent's open dashboard live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import BrowserSession, login_admin_page, send
from tests.fakes.smtp import FakeSmtp
from tests.server.test_reply_mail import PUBLIC, link, mails_to, visitor_with_email
from tests.support import find_thread, login_admin, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp():
    fake = FakeSmtp().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(make_server, smtp):
    return make_server(
        "resume-link",
        SMTP_URL=smtp.url,
        MAIL_FROM="Support <chat@example.com>",
        EMAIL_AFTER="1s",
        PUBLIC_URL=PUBLIC,
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )


def test_the_resume_link_opens_the_conversation_in_a_fresh_browser(server, smtp, browsers: BrowserSession):
    visitor_with_email(server, "Traveller", "traveller@example.com")
    admin = login_admin(server)
    thread = find_thread(admin, "Traveller")
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": "We found your order"}).status_code == 303
    wait_until(lambda: mails_to(smtp, "traveller@example.com"), timeout=15, message="the replies mail")
    path = link(mails_to(smtp, "traveller@example.com")[0], "/r/")

    agent = browsers.new_page(server.url)
    login_admin_page(agent, server)
    agent.goto(f"/admin/threads/{thread}")
    expect(agent.locator("#messages article[data-sender=admin] .msg-text")).to_have_text(["We found your order"])

    phone = browsers.new_page(server.url)  # a context of its own: no cookie of the visitor's first device
    phone.goto(path)
    assert phone.url.rstrip("/") == server.url.rstrip("/")
    expect(phone.locator("#messages article[data-sender=admin] .msg-text")).to_have_text(["We found your order"])
    expect(phone.locator("#chat[sse-connect]")).to_be_attached()
    send(phone, "Thanks, reading it on my phone")
    expect(agent.locator("#messages article[data-sender=visitor] .msg-text").last).to_have_text(
        "Thanks, reading it on my phone"
    )
    browsers.assert_clean()
