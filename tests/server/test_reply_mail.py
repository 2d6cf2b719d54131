"""Replies by email through a real server and a real SMTP server on loopback (SPEC §9): a visitor who left with an
address gets one mail per burst of agent replies after EMAIL_AFTER, none while their stream is open and none once
unsubscribed; the mail's resume link works from a fresh client (any device) and refuses forged, expired,
other-conversation and ended links; the one-click unsubscribe POST needs no cookie and no CSRF token."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from app.services.crypto import Signer
from tests.fakes.smtp import FakeSmtp
from tests.support import Browser, find_thread, iter_sse, login_admin, sql, start_visitor, wait_until

PUBLIC = "http://chat.example.test"
EMAIL_AFTER = 1.0


@pytest.fixture(scope="module")
def smtp():
    fake = FakeSmtp().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(make_server, smtp):
    return make_server(
        "reply-mail",
        SMTP_URL=smtp.url,
        MAIL_FROM="Support <chat@example.com>",
        EMAIL_AFTER="1s",
        PUBLIC_URL=PUBLIC,
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )


@pytest.fixture(scope="module")
def admin(server):
    return login_admin(server)


def mails_to(smtp: FakeSmtp, address: str) -> list:
    return [m for m in smtp.messages if address in str(m["To"])]


def visitor_with_email(server, name: str, address: str) -> Browser:
    visitor = start_visitor(server.url, name)
    assert visitor.post("/chat/email", {"email": address}).status_code == 303
    return visitor


def text_part(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def link(mail, prefix: str) -> str:
    """The path of the link under PUBLIC_URL + `prefix` in the mail's text part."""
    match = re.search(re.escape(PUBLIC + prefix) + r"(\S+)", text_part(mail))
    assert match, text_part(mail)
    return prefix + match.group(1)


def test_a_note_is_never_mailed(server, smtp, admin):
    """SPEC §10: a private note never reaches the visitor, by email neither (nor makes a mail of its own)."""
    visitor_with_email(server, "Noted", "noted@example.com").post("/chat/messages", {"text": "hi"})
    thread = find_thread(admin, "Noted")
    admin.post(f"/admin/threads/{thread}/messages", {"text": "internal: check the order", "kind": "note"})
    time.sleep(EMAIL_AFTER * 3)
    assert not mails_to(smtp, "noted@example.com")  # a note alone mails nothing
    admin.post(f"/admin/threads/{thread}/messages", {"text": "Your order is on its way"})
    admin.post(f"/admin/threads/{thread}/messages", {"text": "internal: told them", "kind": "note"})
    wait_until(lambda: mails_to(smtp, "noted@example.com"), timeout=15, message="the reply's mail")
    (mail,) = mails_to(smtp, "noted@example.com")
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Your order is on its way" in text_part(mail) and "internal" not in text_part(mail) + html


def test_two_quick_replies_make_one_mail_after_email_after(server, smtp, admin):
    visitor = visitor_with_email(server, "Leyla", "leyla@example.com")
    visitor.post("/chat/messages", {"text": "anyone there?"})
    thread = find_thread(admin, "Leyla")
    admin.post(f"/admin/threads/{thread}/messages", {"text": "Hello <b>Leyla</b>"})
    admin.post(f"/admin/threads/{thread}/messages", {"text": "Second reply"})
    started = time.monotonic()
    assert not mails_to(smtp, "leyla@example.com")
    wait_until(lambda: mails_to(smtp, "leyla@example.com"), timeout=15, message="the replies mail")
    assert time.monotonic() - started >= EMAIL_AFTER * 0.5
    time.sleep(2.5)  # several rounds later: still one mail
    (mail,) = mails_to(smtp, "leyla@example.com")
    text = text_part(mail)
    assert "Hello <b>Leyla</b>" in text and "Second reply" in text and "anyone there?" not in text
    assert text.index("Hello") < text.index("Second reply")
    html_part = mail.get_body(preferencelist=("html",)).get_content()
    assert "Hello &lt;b&gt;Leyla&lt;/b&gt;" in html_part and "<b>Leyla</b>" not in html_part
    assert mail["List-Unsubscribe"].strip() == f"<{PUBLIC}{link(mail, '/unsubscribe/')}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{PUBLIC}/r/' in html_part

    # Another reply later is a new burst: one more mail, with that reply only.
    admin.post(f"/admin/threads/{thread}/messages", {"text": "Third, later"})
    wait_until(lambda: len(mails_to(smtp, "leyla@example.com")) == 2, timeout=15, message="the second mail")
    later = text_part(mails_to(smtp, "leyla@example.com")[1])
    assert "Third, later" in later and "Second reply" not in later

    # The resume link, opened by a fresh client (another device): the cookie is set, the conversation is there.
    device = Browser(server.url)
    response = device.get(link(mail, "/r/"))
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = device.get("/").text
    assert "Second reply" in page and "anyone there?" in page
    assert device.post("/chat/messages", {"text": "from my phone"}).status_code == 303
    assert "from my phone" in admin.get(f"/admin/threads/{thread}").text
    again = Browser(server.url)  # replaying the link on yet another device works too
    assert again.get(link(mail, "/r/")).status_code == 303 and "from my phone" in again.get("/").text
    assert "from my phone" in visitor.get("/").text  # and the device that started the chat keeps it


def test_no_mail_while_the_visitor_stream_is_open(server, smtp, admin):
    visitor = visitor_with_email(server, "Online", "online@example.com")
    thread = find_thread(admin, "Online")
    with httpx.Client(base_url=server.url, cookies=visitor.http.cookies, timeout=10) as http:
        with http.stream("GET", "/chat/events") as stream:
            events = iter_sse(stream)  # kept: a dropped generator would close the response
            first = next(events)  # the stream is open (presence entered)
            assert stream.status_code == 200 and first.event == "control", first.data
            assert "support" in first.data, first.data
            admin.post(f"/admin/threads/{thread}/messages", {"text": "seen live"})
            time.sleep(EMAIL_AFTER + 2.5)
            assert not mails_to(smtp, "online@example.com")
    time.sleep(EMAIL_AFTER + 2.5)  # the visitor left after seeing it: it is not mailed either
    assert not mails_to(smtp, "online@example.com")


def test_unsubscribe_needs_no_cookie_or_csrf_and_stops_mail(server, smtp, admin):
    visitor_with_email(server, "Quiet", "quiet@example.com")
    thread = find_thread(admin, "Quiet")
    admin.post(f"/admin/threads/{thread}/messages", {"text": "first"})
    wait_until(lambda: mails_to(smtp, "quiet@example.com"), timeout=15, message="the first mail")
    path = link(mails_to(smtp, "quiet@example.com")[0], "/unsubscribe/")
    page = httpx.get(server.url + path)
    assert page.status_code == 200 and f'action="{path}"' in page.text
    forged = httpx.post(server.url + path[:-2] + "00", data={"List-Unsubscribe": "One-Click"})
    assert forged.status_code == 400
    done = httpx.post(server.url + path, data={"List-Unsubscribe": "One-Click"})  # a mail client: no cookie, no token
    assert done.status_code == 200 and "no more emails" in done.text
    admin.post(f"/admin/threads/{thread}/messages", {"text": "second"})
    time.sleep(EMAIL_AFTER + 2.5)
    assert len(mails_to(smtp, "quiet@example.com")) == 1


def test_bad_resume_links_are_refused_and_change_nothing(server, smtp, admin):
    first = visitor_with_email(server, "LinkA", "linka@example.com")
    visitor_with_email(server, "LinkB", "linkb@example.com")
    thread_a, thread_b = find_thread(admin, "LinkA"), find_thread(admin, "LinkB")
    admin.post(f"/admin/threads/{thread_a}/messages", {"text": "for A"})
    wait_until(lambda: mails_to(smtp, "linka@example.com"), timeout=15, message="A's mail")
    good = link(mails_to(smtp, "linka@example.com")[0], "/r/")
    url = server.env["DATABASE_URL"]
    tokens = "SELECT visitor_token_hash, resume_token_hash FROM conversation ORDER BY id"
    hashes = sql(url, tokens)

    value, _, mac = good.removeprefix("/r/").rpartition(".")
    other = f"/r/{thread_b}-{value.split('-')[1]}.{mac}"  # A's signature on B's id
    forged = good[:-3] + ("abc" if not good.endswith("abc") else "def")
    expired = "/r/" + Signer(server.env["SECRET_KEY"], "resume-link").sign(f"{thread_a}-{int(time.time()) - 1}")
    for path, status in ((forged, 400), (other, 400), ("/r/nonsense", 400), (expired, 410)):
        fresh = Browser(server.url)
        response = fresh.get(path)
        assert response.status_code == status and "text/html" in response.headers["content-type"], path
        assert "set-cookie" not in response.headers or "sohbet_visitor" not in response.headers["set-cookie"]
        assert "for A" not in fresh.get("/").text
    assert sql(url, tokens) == hashes

    # Ending the chat still revokes for good: the link's device loses it too, and the link no longer opens it.
    device = Browser(server.url)
    assert device.get(good).status_code == 303 and "for A" in device.get("/").text
    first.get("/")
    assert first.post("/chat/end", {"confirm": "yes"}).status_code == 200
    assert "for A" not in device.get("/").text
    gone = Browser(server.url).get(good)
    assert gone.status_code == 410 and "has ended" in gone.text
    assert sql(url, "SELECT resume_token_hash FROM conversation WHERE id = ?", thread_a) == [(None,)]
