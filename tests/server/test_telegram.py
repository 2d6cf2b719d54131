"""The Telegram bridge, first slice: login codes through Telegram, every visitor message delivered to the admin
chat through the outbox (in order, once, with retries), against a fake Bot API on loopback."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.telegram import FakeTelegram
from tests.media_files import image
from tests.support import ADMIN_PASSWORD, Browser, find_thread, start_visitor, wait_until

PUBLIC_URL = "https://chat.example.test"
LOGIN_CODE_RE = re.compile(r"Sohbet login code: (\d{6})")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


@pytest.fixture(scope="module")
def server(make_server, fake):
    return make_server(
        "telegram",
        PUBLIC_URL=PUBLIC_URL,
        TELEGRAM_TIMEOUT="1",
        TELEGRAM_RETRY_SECONDS="1s",
        **fake.env(),
    )


@pytest.fixture(autouse=True)
def clean_fake(fake: FakeTelegram) -> Iterator[None]:
    yield
    fake.reset()
    if fake._server is None:
        fake.up()


def login_codes(fake: FakeTelegram) -> list[str]:
    return [m.group(1) for text in fake.sent_texts() for m in LOGIN_CODE_RE.finditer(text)]


def login(server, fake: FakeTelegram, admin: Browser | None = None) -> tuple[Browser, str, httpx.Response]:
    admin = admin or Browser(server.url)
    admin.get("/login")
    before = len(login_codes(fake))
    response = admin.post("/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    code = wait_until(lambda: login_codes(fake)[before:], message="a login code in Telegram")[-1]
    verified = admin.post("/login/verify", {"code": code})
    assert verified.status_code == 303 and verified.headers["location"] == "/admin", verified.text
    return admin, code, response


def texts_for(fake: FakeTelegram, name: str) -> list[str]:
    return [text for text in fake.sent_texts() if f"{name}:\n" in text]


def send(visitor: Browser, text: str) -> None:
    response = visitor.post("/chat/messages", {"text": text})
    assert response.status_code == 303, response.text


# -- login codes ---------------------------------------------------------------------------------------------


def test_login_code_goes_to_telegram_and_nowhere_else(server, fake):
    admin, code, code_page = login(server, fake)
    sent = [c for c in fake.calls_to("sendMessage") if LOGIN_CODE_RE.search(str(c.params.get("text")))][-1]
    assert str(sent.params["chat_id"]) == fake.chat_id and "admin" in sent.params["text"]
    assert "parse_mode" not in sent.params
    assert code not in code_page.text and "server console" not in code_page.text
    assert admin.get("/admin").status_code == 200
    assert code not in server.stdout() and code not in server.stderr()
    assert "Login code for" not in server.stdout()  # the console channel is not used when Telegram is configured
    assert fake.token not in server.stdout() and fake.token not in server.stderr()


@pytest.mark.parametrize("failure", ["down", "500", "wrong-chat"])
def test_telegram_failure_at_login_is_a_clear_503(server, fake, failure):
    if failure == "down":
        fake.down()
    elif failure == "500":
        fake.fail_next(1, 500, method="sendMessage")
    else:
        fake.chat_id, real_chat = "999", fake.chat_id
    try:
        admin = Browser(server.url)
        admin.get("/login")
        response = admin.post("/login", {"username": "admin", "password": ADMIN_PASSWORD})
    finally:
        if failure == "wrong-chat":
            fake.chat_id = real_chat
    assert response.status_code == 503
    assert "could not be sent" in response.text and "Telegram" in response.text
    assert 'name="code"' not in response.text
    assert "sohbet_login" not in response.headers.get("set-cookie", "")
    # Nothing to complete: no attempt cookie, and the attempt was deleted on the server.
    assert admin.post("/login/verify", {"code": "000000"}).status_code == 401
    # The JSON API says the same.
    if failure == "500":
        fake.fail_next(1, 500, method="sendMessage")
        api = admin.http.post(
            "/admin/login",
            json={"username": "admin", "password": ADMIN_PASSWORD},
            headers={"x-csrftoken": admin.csrf_token},
        )
        assert api.status_code == 503 and api.json()["success"] is False


def test_production_login_works_with_telegram(make_server, fake):
    server = make_server(
        "telegram-production",
        ENVIRONMENT="production",
        SECRET_KEY="p" * 48,
        ADMIN_PASSWORD="a-very-long-production-password",
        PUBLIC_URL="https://chat.example.test",
        METRICS_TOKEN="metrics-" + "t" * 24,
        **fake.env(),
    )
    holder: dict[str, httpx.Client] = {}

    def keep_secure_cookies(response: httpx.Response) -> None:
        # Production cookies are Secure; this test talks plain HTTP on loopback, so carry them by hand.
        for name, value in response.cookies.items():
            holder["client"].cookies.set(name, value)

    admin = Browser(server.url, event_hooks={"response": [keep_secure_cookies]})
    holder["client"] = admin.http
    page = admin.get("/login")
    assert page.status_code == 200 and "Secure" in page.headers.get("set-cookie", "")
    before = len(login_codes(fake))
    response = admin.post("/login", {"username": "admin", "password": "a-very-long-production-password"})
    assert response.status_code == 200 and 'name="code"' in response.text
    code = wait_until(lambda: login_codes(fake)[before:], message="a login code in Telegram")[-1]
    assert code not in response.text
    verified = admin.post("/login/verify", {"code": code})
    assert verified.status_code == 303 and verified.headers["location"] == "/admin"
    assert admin.get("/admin").status_code == 200
    assert code not in server.stdout() + server.stderr()


# -- outbound messages ---------------------------------------------------------------------------------------


def test_every_visitor_message_reaches_telegram_once_in_order(server, fake):
    visitor = start_visitor(server.url, "Zeynep")
    texts = [f"message {i}" for i in range(5)]
    for text in texts:
        send(visitor, text)
    delivered = wait_until(lambda: (t := texts_for(fake, "Zeynep")) and len(t) >= 5 and t, message="5 deliveries")
    admin, _, _ = login(server, fake)
    thread_id = find_thread(admin, "Zeynep")
    link = f"{PUBLIC_URL}/admin/threads/{thread_id}"
    assert [t.split("Zeynep:\n", 1)[1].split("\n\n", 1)[0] for t in delivered] == texts
    assert all(t.endswith(link) for t in delivered)
    assert "New conversation" in delivered[0] and not any("New conversation" in t for t in delivered[1:])
    calls = [c for c in fake.calls_to("sendMessage") if "Zeynep:" in str(c.params.get("text"))]
    assert all(str(c.params["chat_id"]) == fake.chat_id and "parse_mode" not in c.params for c in calls)
    # The admin's reply stays in Sohbet: nothing more reaches Telegram.
    reply = admin.post(f"/admin/threads/{thread_id}/messages", {"text": "admin reply, not for telegram"})
    assert reply.status_code in (200, 303)
    send(visitor, "after the reply")
    wait_until(lambda: len(texts_for(fake, "Zeynep")) == 6, message="the sixth delivery")
    time.sleep(0.3)  # nothing further is in flight: the check below covers a late duplicate too
    assert not any("admin reply" in text for text in fake.sent_texts())
    assert len(texts_for(fake, "Zeynep")) == 6


def test_hostile_text_arrives_verbatim(server, fake):
    hostile = '<b>bold</b> *star* _under_ [link](javascript:alert(1)) <script>alert("x")</script> & &amp; `code`'
    visitor = start_visitor(server.url, "<i>Mallory</i>")
    send(visitor, hostile)
    (text,) = wait_until(lambda: texts_for(fake, "<i>Mallory</i>"), message="the hostile message")
    assert f"<i>Mallory</i>:\n{hostile}\n\n" in text
    call = next(c for c in fake.calls_to("sendMessage") if hostile in str(c.params.get("text")))
    assert "parse_mode" not in call.params and "entities" not in call.params


def test_an_unnamed_visitor_is_labelled_in_the_bots_language(server, fake):
    """No name given in Turkish: Telegram (which speaks English) reads "Visitor <number>", not "Ziyaretçi"."""
    turkish = Browser(server.url, headers={"Accept-Language": "tr-TR,tr;q=0.9"})
    turkish.get("/")
    assert turkish.post("/chat/start", {"display_name": ""}).status_code == 303
    send(turkish, "isimsiz")
    text = wait_until(lambda: next((t for t in fake.sent_texts() if "isimsiz" in t), None), message="the delivery")
    assert re.search(r"New conversation with Visitor (\d{4})\n\nVisitor \1:\nisimsiz\n", text), text


def test_429_waits_retry_after_then_delivers_once(server, fake):
    visitor = start_visitor(server.url, "Rate Limited")
    fake.fail_next(1, 429, retry_after=1, method="sendMessage")
    send(visitor, "slow down")
    wait_until(lambda: texts_for(fake, "Rate Limited"), message="delivery after the 429")
    calls = fake.calls_to("sendMessage")
    refused = [c for c in calls if c.status == 429]
    delivered = [c for c in calls if c.status == 200 and "Rate Limited:" in str(c.params.get("text"))]
    assert len(refused) == 1 and len(delivered) == 1
    assert delivered[0].at - refused[0].at >= 1.0
    assert "slow down" in str(refused[0].params.get("text"))


@pytest.mark.parametrize("failure", ["500", "down", "hang"])
def test_message_kept_while_telegram_fails_and_delivered_after(server, fake, failure):
    name = f"Patient {failure}"
    visitor = start_visitor(server.url, name)
    if failure == "500":
        fake.fail_next(3, 500, method="sendMessage")
    elif failure == "down":
        fake.down()
    else:
        fake.hang_seconds = 2.5  # past the client's 1 s timeout
        fake.hang_next(1, method="sendMessage")
    started = time.monotonic()
    send(visitor, f"first while {failure}")
    send(visitor, f"second while {failure}")
    assert time.monotonic() - started < 2  # posting never waits for Telegram
    page = visitor.get("/").text
    assert f"first while {failure}" in page and f"second while {failure}" in page
    if failure == "down":
        time.sleep(2.5)  # a few refused retries happen meanwhile
        assert texts_for(fake, name) == []
        fake.up()
    delivered = wait_until(lambda: len(texts_for(fake, name)) >= 2 and texts_for(fake, name), timeout=15)
    assert [t.split(":\n", 1)[1].split("\n\n", 1)[0] for t in delivered] == [
        f"first while {failure}",
        f"second while {failure}",
    ]
    time.sleep(0.5)
    assert len(texts_for(fake, name)) == 2  # exactly once each
    if failure == "500":
        assert len([c for c in fake.calls_to("sendMessage") if c.status == 500]) == 3
    assert fake.token not in server.stderr() and f"first while {failure}" not in server.stderr()
    assert '"event": "telegram.deliver_failed"' in server.stderr()


def test_attachment_is_announced_with_its_kind(server, fake):
    visitor = start_visitor(server.url, "Photographer")
    response = visitor.post("/chat/messages", {"text": "look"}, files={"file": ("p.png", image("PNG"), "image/png")})
    assert response.status_code == 303, response.text
    (caption,) = wait_until(lambda: [c for c in fake.captions() if "Photographer:" in c], message="the photo message")
    assert caption.startswith("🆕 New conversation with Photographer\n\nPhotographer:\nlook\n\n")
    assert len(fake.sent("sendPhoto")) >= 1


def test_backlog_is_visible_in_health_and_on_the_dashboard(server, fake):
    admin, _, _ = login(server, fake)
    visitor = start_visitor(server.url, "Backlog")
    fake.down()
    send(visitor, "waiting for telegram")

    def failing() -> dict | None:
        telegram = httpx.get(server.url + "/health").json()["checks"]["telegram"]
        return telegram if telegram["status"] == "backlog" else None

    state = wait_until(failing, timeout=10, message="the backlog in /health")
    assert state["undelivered"] >= 1 and state["failing"] >= 1 and state["oldest_seconds"] >= 0
    assert httpx.get(server.url + "/health").json()["status"] == "degraded"
    assert "could not be delivered to Telegram yet" in admin.get("/admin").text
    fake.up()
    wait_until(
        lambda: httpx.get(server.url + "/health").json()["checks"]["telegram"]["undelivered"] == 0,
        timeout=15,
        message="the backlog delivered",
    )
    assert "could not be delivered to Telegram yet" not in admin.get("/admin").text
    assert texts_for(fake, "Backlog")
