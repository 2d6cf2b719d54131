"""The transcript by email (SPEC §9) through a real server and a real SMTP server on loopback: POST
/chat/transcript/email by the visitor's cookie or the ended page's token, one multipart mail to the address on file,
hostile names and texts inert, no note in it, attachments as links under PUBLIC_URL; refusals (no conversation, no
address, mail not set up, too soon) say why and never 500; a plain form post 303s to a page saying it was sent."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests import media_files
from tests.fakes.smtp import FakeSmtp
from tests.support import Browser, login_admin, sql, start_visitor, wait_until

PUBLIC = "http://chat.example.test"
HOSTILE_NAME = "Eve\r\nBcc: v@x.io\r\nX-A: <b>x</b>"


@pytest.fixture(scope="module")
def smtp():
    fake = FakeSmtp().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(make_server, smtp):
    return make_server(
        "transcript-mail",
        SMTP_URL=smtp.url,
        MAIL_FROM="Support <chat@example.com>",
        EMAIL_AFTER="1h",  # no replies mail gets in the way here
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


def test_mailed_once_multipart_inert_without_notes(server, smtp, admin):
    visitor = visitor_with_email(server, HOSTILE_NAME, "eve@example.com")
    hostile = 'Hi <img src="http://evil.example/t.png"> & <b>bold</b>\r\nBcc: x@example.com'
    assert visitor.post("/chat/messages", {"text": hostile}).status_code == 303
    upload = visitor.http.post(
        "/chat/messages",
        data={"_csrf_token": visitor.csrf_token, "text": ""},
        files={"file": ("pic.png", media_files.image("PNG"), "image/png")},
    )
    assert upload.status_code == 303, upload.text
    thread = int(sql(server.env["DATABASE_URL"], "SELECT max(id) FROM conversation")[0][0])
    admin.post(f"/admin/threads/{thread}/messages", {"text": "An agent's <i>answer</i>"})
    admin.post(f"/admin/threads/{thread}/messages", {"text": "private note text", "kind": "note"})

    visitor.get("/")
    response = visitor.post("/chat/transcript/email", {})  # no JavaScript: a plain form post
    assert response.status_code == 303, response.text
    sent_page = visitor.get(response.headers["location"])
    assert sent_page.status_code == 200 and "on its way" in sent_page.text
    wait_until(lambda: mails_to(smtp, "eve@example.com"), timeout=15, message="the transcript mail")
    time.sleep(1.0)
    (mail,) = mails_to(smtp, "eve@example.com")
    raw = next(r for r in smtp.raw if b"eve@example.com" in r)
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers and headers.count(b"\r\nSubject:") == 1
    assert mail["Bcc"] is None and mail["X-A"] is None and "<b>" not in str(mail["Subject"])
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "An agent's <i>answer</i>" in text and "private note text" not in text
    assert "private note text" not in html and "private note text" not in raw.decode("utf-8", "replace")
    assert "An agent&#39;s &lt;i&gt;answer&lt;/i&gt;" in html and "<i>answer</i>" not in html
    assert "&lt;img src=" in html and "<img" not in html and "<script" not in html
    media = re.findall(r'href="([^"]*/media/[^"]*)"', html)
    assert media and all(link.startswith(PUBLIC + "/media/") for link in media), html
    assert re.search(re.escape(PUBLIC) + r"/media/\S+", text), text

    # Again at once: refused (429 + Retry-After), nothing more sent.
    again = visitor.post("/chat/transcript/email", {})
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0 and "wait a minute" in again.text
    time.sleep(1.0)
    assert len(mails_to(smtp, "eve@example.com")) == 1


def test_from_the_ended_page_with_htmx_and_json(server, smtp):
    visitor = visitor_with_email(server, "Ender", "ender@example.com")
    visitor.post("/chat/messages", {"text": "bye now"})
    ended = visitor.post("/chat/end", {"confirm": "yes"})
    assert ended.status_code == 200 and 'action="/chat/transcript/email"' in ended.text
    assert "ender@example.com" in ended.text
    token = re.search(r'name="token" value="([^"]+)"', ended.text).group(1)
    # The cookie is gone: without the token, no conversation.
    refused = visitor.post("/chat/transcript/email", {}, headers={"Accept": "application/json"})
    assert refused.status_code == 403 and refused.json()["code"] == "transcript_forbidden"
    forged = visitor.post("/chat/transcript/email", {"token": token[:-2] + "xx"}, htmx=True)
    assert forged.status_code == 403 and 'id="transcript-mail"' in forged.text
    done = visitor.post("/chat/transcript/email", {"token": token}, htmx=True)
    assert done.status_code == 200 and "on its way" in done.text and "<html" not in done.text
    wait_until(lambda: mails_to(smtp, "ender@example.com"), timeout=15, message="the ended chat's transcript")
    text = mails_to(smtp, "ender@example.com")[0].get_body(preferencelist=("plain",)).get_content()
    assert "bye now" in text
    wait = visitor.post("/chat/transcript/email", {"token": token}, headers={"Accept": "application/json"})
    assert wait.status_code == 429 and wait.json()["code"] == "transcript_mail_wait"


def test_no_address_on_file_says_add_one(server, smtp):
    visitor = start_visitor(server.url, "NoMail")
    response = visitor.post("/chat/transcript/email", {})
    assert response.status_code == 409 and 'href="/chat/email"' in response.text
    assert "no email address" in response.text
    as_json = visitor.post("/chat/transcript/email", {}, headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.json()["code"] == "transcript_no_email"
    ended = visitor.post("/chat/end", {"confirm": "yes"})  # nothing to mail to: the ended page offers no button
    assert ended.status_code == 200 and "/chat/transcript/email" not in ended.text
    nobody = Browser(server.url)
    assert nobody.post("/chat/transcript/email", {}).status_code == 403
    assert httpx.post(server.url + "/chat/transcript/email").status_code == 403  # no CSRF token


def test_mail_not_configured_is_a_clear_refusal(make_server):
    server = make_server("no-mail", PUBLIC_URL=PUBLIC, ALLOWED_HOSTS="127.0.0.1,localhost")
    visitor = visitor_with_email(server, "Offline", "offline@example.com")
    page = visitor.post("/chat/transcript/email", {})
    assert page.status_code == 409 and "not set up" in page.text and "text/html" in page.headers["content-type"]
    as_json = visitor.post("/chat/transcript/email", {}, headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.json()["code"] == "transcript_mail_off"
    ended = visitor.post("/chat/end", {"confirm": "yes"})
    assert ended.status_code == 200 and "/chat/transcript/email" not in ended.text


def test_a_resolved_conversation_asks_for_a_rating_until_rated(server, smtp, admin):
    """SPEC §10: once resolved, the transcript email offers the rating too (the page's form), until it is given."""
    visitor = visitor_with_email(server, "Rater", "rater@example.com")
    assert visitor.post("/chat/messages", {"text": "thanks for the help"}).status_code == 303
    thread = int(sql(server.env["DATABASE_URL"], "SELECT max(id) FROM conversation")[0][0])
    assert visitor.post("/chat/transcript/email", {}).status_code == 303  # open: no rating asked
    wait_until(lambda: mails_to(smtp, "rater@example.com"), timeout=15, message="the first transcript mail")
    assert "How did we do" not in mails_to(smtp, "rater@example.com")[0].get_body(("plain",)).get_content()

    assert admin.post(f"/admin/threads/{thread}/status", {"status": "resolved"}).status_code == 303
    sql(server.env["DATABASE_URL"], "DELETE FROM counter")  # the once-a-minute limit, not under test here
    assert visitor.post("/chat/transcript/email", {}).status_code == 303
    wait_until(lambda: len(mails_to(smtp, "rater@example.com")) == 2, timeout=15, message="the second mail")
    mail = mails_to(smtp, "rater@example.com")[1]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "How did we do" in text and PUBLIC + "/" in text and f'href="{PUBLIC}/"' in html

    visitor.get("/")
    assert visitor.post("/chat/rating", {"score": "5", "comment": ""}).status_code == 303
    sql(server.env["DATABASE_URL"], "DELETE FROM counter")
    assert visitor.post("/chat/transcript/email", {}).status_code == 303
    wait_until(lambda: len(mails_to(smtp, "rater@example.com")) == 3, timeout=15, message="the third mail")
    assert "How did we do" not in mails_to(smtp, "rater@example.com")[2].get_body(("plain",)).get_content()
