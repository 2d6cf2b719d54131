"""Email capture through a real server (SPEC §9): the start form's optional `email` and POST `/chat/email`, with and
without JavaScript; an invalid address is a 422 that keeps everything typed; the address is stored encrypted (the
raw row does not contain it), shown to agents in the conversation header, and not asked for with ASK_EMAIL=never."""

from __future__ import annotations

import html

import pytest
from cryptography.fernet import Fernet

from tests.support import Browser, find_thread, login_admin, sql

INVALID = "not-an-address@"


@pytest.fixture(scope="module")
def server(make_server):
    return make_server("email")  # ASK_EMAIL=away by default, and no agent has the dashboard open: asked


def stored_email(server, name: str) -> str | None:
    rows = sql(server.env["DATABASE_URL"], "SELECT email FROM conversation WHERE display_name = ?", name)
    return rows[0][0] if rows else None


def test_the_start_form_takes_an_optional_email_kept_encrypted(server):
    visitor = Browser(server.url)
    assert 'name="email"' in visitor.get("/").text
    response = visitor.post("/chat/start", {"display_name": "Mehmet", "email": "  Mehmet@Example.com "})
    assert response.status_code == 303
    token = stored_email(server, "Mehmet")
    assert token and "example.com" not in token.lower()
    assert Fernet(server.env["ENCRYPTION_KEYS"].encode()).decrypt(token.encode()).decode() == "Mehmet@example.com"
    page = visitor.get("/").text
    assert "Mehmet@example.com" in page and 'id="email"' not in page  # says where replies go; no form any more
    admin = login_admin(server)
    thread = admin.get(f"/admin/threads/{find_thread(admin, 'Mehmet')}").text
    assert 'class="hint visitor-email"' in thread and "mailto:Mehmet@example.com" in thread


def test_no_email_is_fine(server):
    visitor = Browser(server.url)
    visitor.get("/")
    assert visitor.post("/chat/start", {"display_name": "Ece", "email": ""}).status_code == 303
    assert stored_email(server, "Ece") is None
    # The conversation page offers "get replies by email": a link to the form (in place with htmx, a page without).
    offer = visitor.get("/").text
    assert 'id="email"' not in offer and 'hx-get="/chat/email"' in offer and 'href="/chat/email"' in offer
    form = visitor.get("/chat/email", headers={"HX-Request": "true"}).text
    assert 'id="email"' in form and 'id="email-box"' in form and 'id="chat"' not in form
    page = visitor.get("/chat/email").text
    assert 'id="email"' in page and 'id="chat"' in page
    assert Browser(server.url).get("/chat/email").status_code == 303  # no conversation: the start page


@pytest.mark.parametrize("htmx", [False, True])
def test_an_invalid_address_at_start_is_422_and_nothing_typed_is_lost(server, htmx):
    name = f"Zeynep{int(htmx)}"
    visitor = Browser(server.url)
    visitor.get("/")
    response = visitor.post("/chat/start", {"display_name": name, "email": INVALID}, htmx=htmx)
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "does not look like an email address" in text
    assert f'value="{name}"' in text and f'value="{INVALID}"' in text and 'aria-invalid="true"' in text
    assert stored_email(server, name) is None and not sql(
        server.env["DATABASE_URL"], "SELECT id FROM conversation WHERE display_name = ?", name
    )


@pytest.mark.parametrize("htmx", [False, True])
def test_get_replies_by_email_on_the_conversation_page(server, htmx):
    name = f"Can{int(htmx)}"
    visitor = Browser(server.url)
    visitor.get("/")
    visitor.post("/chat/start", {"display_name": name})
    refused = visitor.post("/chat/email", {"email": "can at example"}, htmx=htmx)
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "does not look like an email address" in text and 'value="can at example"' in text
    assert ('id="chat"' in text) is not htmx  # no JS: the whole page again; htmx: the email box only
    assert visitor.post("/chat/email", {"email": ""}, htmx=htmx).status_code == 422
    assert stored_email(server, name) is None
    saved = visitor.post("/chat/email", {"email": "can@example.com"}, htmx=htmx)
    if htmx:
        assert saved.status_code == 200 and "can@example.com" in saved.text and 'id="email-box"' in saved.text
    else:
        assert saved.status_code == 303 and saved.headers["location"] == "/"
    assert "can@example.com" in visitor.get("/").text
    assert "can@example.com" not in (stored_email(server, name) or "can@example.com")


def test_without_a_conversation_the_post_goes_home(server):
    visitor = Browser(server.url)
    visitor.get("/")
    response = visitor.post("/chat/email", {"email": "x@example.com"})
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_ask_email_never_offers_no_field(make_server):
    never = make_server("never", ASK_EMAIL="never")
    visitor = Browser(never.url)
    assert 'name="email"' not in visitor.get("/").text
    visitor.post("/chat/start", {"display_name": "Deniz", "email": "deniz@example.com"})
    assert 'id="email"' not in visitor.get("/").text and stored_email(never, "Deniz") is None


def test_a_failing_mail_shows_on_the_dashboard_and_in_health(make_server):
    """A mail the SMTP server keeps refusing for now (4xx) is retried, and agents see a banner meanwhile."""
    import base64
    import time
    from email.message import EmailMessage

    from tests.fakes.smtp import FakeSmtp
    from tests.support import wait_until

    smtp = FakeSmtp().start()
    try:
        smtp.fail(451, times=1000)
        mailing = make_server("mailing", SMTP_URL=smtp.url, MAIL_FROM="chat@example.com")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "chat@example.com", "v@example.com", "Queued"
        message.set_content("hello")
        fernet = Fernet(mailing.env["ENCRYPTION_KEYS"].encode())
        body = fernet.encrypt(base64.b64encode(message.as_bytes())).decode()
        sql(
            mailing.env["DATABASE_URL"],
            "INSERT INTO mail_outbox (kind, recipient, body, attempts, next_try_at, last_error, sent, created_at) "
            "VALUES ('test', ?, ?, 0, 0, '', ?, ?)",
            fernet.encrypt(b"v@example.com").decode(),
            body,
            False,
            time.time(),
        )
        admin = login_admin(mailing)
        # The server's worker looks at the queue at least every 30 s (other processes may queue).
        page = wait_until(
            lambda: next((text for text in [admin.get("/admin").text] if "mail-failing" in text), None),
            timeout=40,
            interval=0.5,
            message="the mail banner",
        )
        assert "1 email(s) to visitors could not be sent yet" in page
        health = admin.get("/health").json()
        assert health["checks"]["mail"]["status"] == "failing" and health["checks"]["mail"]["unsent"] == 1
        assert smtp.raw == []
    finally:
        smtp.stop()
