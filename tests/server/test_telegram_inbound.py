"""The Telegram bridge, inbound: the admin's replies, files and commands reach the visitor live, each update once,
through long polling (one poller per deployment) or the webhook, against a fake Bot API on loopback."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.telegram import FakeTelegram
from tests.media_files import image, ogg_opus
from tests.streams import open_reader
from tests.support import BACKEND, ROOT, Browser, find_thread, login_admin, start_visitor, wait_until

PUBLIC_URL = "https://chat.example.test"
UNROUTED_START = "This message did not go to any visitor"
WEBHOOK_SECRET = "s3cret-webhook-token_0123456789"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


def telegram_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {
        "PUBLIC_URL": PUBLIC_URL,
        "TELEGRAM_TIMEOUT": "2",
        "TELEGRAM_POLL_SECONDS": "1",
        "TELEGRAM_RETRY_SECONDS": "1s",
        **fake.env(),
        **extra,
    }


@pytest.fixture(scope="module")
def server(make_server, fake):
    return make_server("telegram-in", **telegram_env(fake))


def delivered_message_id(fake: FakeTelegram, name: str) -> int:
    """The Telegram id of the last message the bot sent for visitor `name`."""

    def find() -> int | None:
        for call in reversed(fake.sent()):
            text = str(call.params.get("text") or call.params.get("caption") or "")
            if f"{name}:\n" in text and isinstance(call.result, dict):
                return call.result["message_id"]
        return None

    return wait_until(find, timeout=15, message=f"a message for {name} in Telegram")


def visitor_with_delivery(server, fake: FakeTelegram, name: str) -> tuple[Browser, int]:
    visitor = start_visitor(server.url, name)
    assert visitor.post("/chat/messages", {"text": f"hello from {name}"}).status_code == 303
    return visitor, delivered_message_id(fake, name)


def visitor_texts(visitor: Browser) -> list[str]:
    page = visitor.get("/").text
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r'<div class="msg-text">(.*?)</div>', page, re.S)]


def answers(fake: FakeTelegram, start: int = 0) -> list[str]:
    """What the bot answered the admin (help, refusals, command answers: replies to the admin's message), among
    the messages sent from the `start`th on."""
    calls = fake.sent("sendMessage")[start:]
    return [
        str(c.params["text"]) for c in calls if "allow_sending_without_reply" in str(c.params.get("reply_parameters"))
    ]


@pytest.fixture(autouse=True)
def fresh_fake(fake: FakeTelegram) -> Iterator[None]:
    yield
    if fake._server is None:
        fake.up()


# -- routing -------------------------------------------------------------------------------------------------


def test_reply_to_a_visitor_message_reaches_the_visitor_live(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "Reply Routed")
    reader = open_reader(server.url, "/chat/events", visitor.http.cookies)
    try:
        fake.admin_message("Merhaba! How can I help?", reply_to=telegram_id)
        events = reader.wait_for_messages(2, timeout=15)  # the visitor's own message, then the reply
        assert "Merhaba! How can I help?" in events[-1].data and 'data-sender="admin"' in events[-1].data
    finally:
        reader.close()
    assert visitor_texts(visitor)[-1] == "Merhaba! How can I help?"
    # The dashboard shows it as the admin's message, and the conversation counts as read.
    admin = login_admin(server, codes=fake.login_codes)
    thread = find_thread(admin, "Reply Routed")
    page = admin.get(f"/admin/threads/{thread}").text
    assert re.search(r'data-sender="admin"[^>]*>.*?Merhaba! How can I help\?', page, re.S)


def test_a_reply_to_the_admins_own_reply_routes_too(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "Chain")
    first = fake.admin_message("first answer", reply_to=telegram_id)
    wait_until(lambda: "first answer" in visitor_texts(visitor), timeout=15, message="the first answer")
    fake.admin_message("second answer", reply_to=first["message"]["message_id"])
    wait_until(lambda: "second answer" in visitor_texts(visitor), timeout=15, message="the second answer")


def test_a_reply_that_arrives_before_the_delivery_is_recorded_still_routes(server, fake):
    """The admin's reply can reach the app before Telegram's answer to the send does (the link between the bot's
    message and the conversation is stored only then): it must wait for the link, not get the help answer."""
    fake.answer_late(1, "sendMessage", seconds=1)  # under TELEGRAM_TIMEOUT (2 s)
    visitor, telegram_id = visitor_with_delivery(server, fake, "Slow Network")
    before = len(fake.sent("sendMessage"))
    fake.admin_message("answer racing the delivery", reply_to=telegram_id)
    wait_until(lambda: "answer racing the delivery" in visitor_texts(visitor), timeout=15, message="the answer")
    assert UNROUTED_START not in " ".join(answers(fake, before))


def test_thread_tag_routes_and_is_removed(server, fake):
    visitor, _ = visitor_with_delivery(server, fake, "Tagged")
    admin = login_admin(server, codes=fake.login_codes)
    thread = find_thread(admin, "Tagged")
    fake.admin_message(f"#thread:{thread} tagged answer")
    wait_until(lambda: "tagged answer" in visitor_texts(visitor), timeout=15, message="the tagged answer")
    assert not any("#thread" in text for text in visitor_texts(visitor))
    before = len(fake.sent("sendMessage"))
    fake.admin_message("#thread:999999 nobody")
    wait_until(lambda: any("no conversation #999999" in t for t in answers(fake, before)), timeout=15)


def test_unrouted_message_gets_help_and_reaches_nobody(server, fake):
    visitor, _ = visitor_with_delivery(server, fake, "Bystander")
    before = len(fake.sent("sendMessage"))
    fake.admin_message("who gets this?")
    wait_until(lambda: any("did not go to any visitor" in t for t in answers(fake, before)), timeout=15)
    assert "who gets this?" not in visitor_texts(visitor)


def test_strangers_and_other_updates_are_ignored(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "Guarded")
    before_calls = len(fake.calls)
    stranger = fake.stranger_message("I am not the admin", reply_to=telegram_id)
    other = fake.push_update({"edited_message": {"message_id": 1, "chat": {"id": int(fake.chat_id)}, "text": "x"}})
    marker = fake.admin_message("marker after the strangers", reply_to=telegram_id)
    wait_until(lambda: "marker after the strangers" in visitor_texts(visitor), timeout=15)
    assert "I am not the admin" not in visitor_texts(visitor)
    assert stranger["update_id"] < other < marker["update_id"]
    # Nothing was sent to the stranger's chat, and no answer at all went out for either update.
    stranger_chat = str(stranger["message"]["chat"]["id"])
    assert not [c for c in fake.calls[before_calls:] if str(c.params.get("chat_id")) == stranger_chat]
    assert not [c for c in fake.calls[before_calls:] if c.method == "sendMessage"]


def test_same_update_twice_stores_one_message(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "Twice")
    update = fake.admin_message("only once please", reply_to=telegram_id)
    wait_until(lambda: "only once please" in visitor_texts(visitor), timeout=15)
    polls_before = len(fake.calls_to("getUpdates"))
    fake.redeliver(update["update_id"])
    fake.admin_message("after the repeat", reply_to=telegram_id)
    wait_until(lambda: "after the repeat" in visitor_texts(visitor), timeout=15)
    assert len(fake.calls_to("getUpdates")) > polls_before
    assert visitor_texts(visitor).count("only once please") == 1


# -- files ---------------------------------------------------------------------------------------------------


def test_photo_and_voice_from_telegram_reach_the_visitor(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "Gallery")
    fake.admin_message(photo=image("JPEG", (64, 48), gps=True), caption="the photo", reply_to=telegram_id)
    wait_until(lambda: "the photo" in visitor_texts(visitor), timeout=15, message="the photo message")
    page = visitor.get("/").text
    source = re.findall(r'<img[^>]+src="(/media/[^"]+)"', page)[-1]
    served = visitor.http.get(source)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert b"GPS" not in served.content and served.content[:2] == b"\xff\xd8"
    assert fake.downloads  # fetched through getFile, from the file endpoint
    fake.admin_message(voice=ogg_opus(), reply_to=telegram_id)
    wait_until(lambda: "<audio" in visitor.get("/").text, timeout=15, message="the voice note")
    audio = re.findall(r'<audio[^>]+src="(/media/[^"]+)"', visitor.get("/").text)
    assert audio and visitor.http.get(audio[-1]).headers["content-type"] == "audio/ogg"


def test_refused_file_gets_a_polite_answer_and_nothing_reaches_the_visitor(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "No PDFs")
    before = len(fake.sent("sendMessage"))
    count = len(visitor_texts(visitor))
    fake.admin_message(
        document=("invoice.pdf", "application/pdf", b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"),
        caption="the invoice",
        reply_to=telegram_id,
    )
    wait_until(lambda: any("cannot be sent to the visitor" in t for t in answers(fake, before)), timeout=15)
    html_doc = ("page.png", "image/png", b"<html><script>alert(1)</script></html>")
    fake.admin_message(document=html_doc, reply_to=telegram_id)
    wait_until(lambda: len([t for t in answers(fake, before) if "cannot be sent" in t]) == 2, timeout=15)
    assert len(visitor_texts(visitor)) == count


# -- commands ------------------------------------------------------------------------------------------------


def support_shown(visitor: Browser) -> str:
    return re.search(r'class="support-status (online|offline)"', visitor.get("/").text).group(1)


def test_commands_help_threads_availability_and_close(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "Commanded")
    before = len(fake.sent("sendMessage"))
    fake.admin_message("/help")
    wait_until(lambda: any("/threads" in t and "#thread:<id>" in t for t in answers(fake, before)), timeout=15)

    before = len(fake.sent("sendMessage"))
    fake.admin_message("/threads@sohbet_test_bot")
    listing = wait_until(
        lambda: next((t for t in answers(fake, before) if t.startswith("Open conversations")), None), timeout=15
    )
    assert "Commanded" in listing and f"{PUBLIC_URL}/admin/threads/" in listing

    assert support_shown(visitor) == "offline"  # no dashboard open
    fake.admin_message("/online")
    wait_until(lambda: support_shown(visitor) == "online", timeout=15, message="support online")
    fake.admin_message("/offline")
    wait_until(lambda: support_shown(visitor) == "offline", timeout=15, message="support offline")
    admin = login_admin(server, codes=fake.login_codes)
    dashboard = open_reader(server.url, "/admin/events", admin.http.cookies)
    try:
        assert support_shown(visitor) == "offline"  # offline by hand wins over an open dashboard
        fake.admin_message("/auto")
        wait_until(lambda: support_shown(visitor) == "online", timeout=15, message="auto: the dashboard counts")
    finally:
        dashboard.close()

    before = len(fake.sent("sendMessage"))
    fake.admin_message("/close", reply_to=telegram_id)
    wait_until(lambda: any("Closed the conversation with Commanded" in t for t in answers(fake, before)), timeout=15)
    assert visitor_texts(visitor)[-1].startswith("Support closed this conversation")
    thread = find_thread(admin, "Commanded")
    assert "ended" in admin.get(f"/admin/threads/{thread}").text
    listing_after = len(fake.sent("sendMessage"))
    fake.admin_message("/threads")
    closed_listing = wait_until(
        lambda: next((t for t in answers(fake, listing_after) if t.startswith(("Open", "No open"))), None), timeout=15
    )
    assert "Commanded" not in closed_listing
    # The visitor writes again: the conversation is open again and the message reaches Telegram.
    assert visitor.post("/chat/messages", {"text": "one more question"}).status_code == 303
    wait_until(lambda: any("one more question" in t for t in fake.sent_texts()), timeout=15)


# -- polling under failure -----------------------------------------------------------------------------------


def test_polling_survives_429_and_an_outage(server, fake):
    visitor, telegram_id = visitor_with_delivery(server, fake, "Resilient")
    fake.fail_next(1, 429, retry_after=1, method="getUpdates")
    fake.admin_message("after a 429", reply_to=telegram_id)
    wait_until(lambda: "after a 429" in visitor_texts(visitor), timeout=20)
    fake.down()
    wait_until(
        lambda: httpx.get(server.url + "/health").json()["checks"]["telegram"]["error"],
        timeout=15,
        message="the poll error in /health",
    )
    fake.up()
    fake.admin_message("after the outage", reply_to=telegram_id)
    wait_until(lambda: "after the outage" in visitor_texts(visitor), timeout=40)
    telegram = httpx.get(server.url + "/health").json()["checks"]["telegram"]
    assert telegram["mode"] == "polling" and telegram["poller"] == "this process"


# -- forum topics --------------------------------------------------------------------------------------------


def test_forum_topics_per_conversation(make_server):
    forum = FakeTelegram(chat_id="-1001234567890", forum=True).start()
    try:
        server = make_server("telegram-forum", **telegram_env(forum))
        visitor = start_visitor(server.url, "Topical")
        assert visitor.post("/chat/messages", {"text": "question in a topic"}).status_code == 303
        wait_until(lambda: forum.topics, timeout=15, message="a topic")
        ((thread_id, topic),) = forum.topics.items()
        assert "Topical" in topic["name"]
        sent = wait_until(lambda: [c for c in forum.sent() if "question in a topic" in str(c.params.get("text"))])
        assert int(sent[-1].params["message_thread_id"]) == thread_id
        # Anything written in the topic goes to the conversation, no reply needed.
        forum.admin_message("answer in the topic", thread_id=thread_id)
        wait_until(lambda: "answer in the topic" in visitor_texts(visitor), timeout=15)
        # Someone deletes the topic: the next message opens a new one.
        forum.delete_topic(thread_id)
        assert visitor.post("/chat/messages", {"text": "after the topic went"}).status_code == 303
        wait_until(lambda: len(forum.topics) == 2, timeout=15, message="a new topic")
        new_thread = max(forum.topics)
        sent = wait_until(lambda: [c for c in forum.sent() if "after the topic went" in str(c.params.get("text"))])
        assert int(sent[-1].params["message_thread_id"]) == new_thread
        forum.admin_message("in the new topic", thread_id=new_thread)
        wait_until(lambda: "in the new topic" in visitor_texts(visitor), timeout=15)
        # /close in the topic closes the conversation and the topic.
        forum.admin_message("/close", thread_id=new_thread)
        wait_until(lambda: forum.calls_to("closeForumTopic"), timeout=15, message="closeForumTopic")
        assert visitor_texts(visitor)[-1].startswith("Support closed this conversation")
    finally:
        forum.stop()


# -- outbound files ------------------------------------------------------------------------------------------


def test_visitor_files_go_out_as_photo_and_voice(server, fake):
    visitor = start_visitor(server.url, "Sender")
    png = image("PNG", (40, 30))
    response = visitor.post("/chat/messages", {"text": "my screenshot"}, files={"file": ("s.png", png, "image/png")})
    assert response.status_code == 303
    photo = wait_until(lambda: [c for c in fake.sent("sendPhoto") if "Sender:" in str(c.params.get("caption"))])
    assert "my screenshot" in photo[-1].params["caption"] and "[image]" not in photo[-1].params["caption"]
    assert photo[-1].files["photo"][2][:8] == b"\x89PNG\r\n\x1a\n"
    response = visitor.post("/chat/messages", {"text": ""}, files={"file": ("v.ogg", ogg_opus(), "audio/ogg")})
    assert response.status_code == 303
    voice = wait_until(lambda: [c for c in fake.sent("sendVoice") if "Sender:" in str(c.params.get("caption"))])
    assert voice[-1].files["voice"][2] == ogg_opus()
    # A text too long for a caption: the file with a short caption, then the whole text as a reply to it.
    long_text = "long " * 700
    response = visitor.post("/chat/messages", {"text": long_text}, files={"file": ("s.png", png, "image/png")})
    assert response.status_code == 303
    reply = wait_until(lambda: [c for c in fake.sent("sendMessage") if long_text.strip() in str(c.params.get("text"))])
    photos = [c for c in fake.sent("sendPhoto") if "Sender:" in str(c.params.get("caption"))]
    assert len(photos) == 2 and long_text.strip() not in photos[-1].params["caption"]
    assert str(photos[-1].result["message_id"]) in str(reply[-1].params.get("reply_parameters"))
    # The admin's reply to the photo routes back to the conversation.
    fake.admin_message("nice screenshot", reply_to=photos[-1].result["message_id"])
    wait_until(lambda: "nice screenshot" in visitor_texts(visitor), timeout=15)


# -- webhook mode --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def webhook_fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


@pytest.fixture(scope="module")
def webhook_server(make_server, webhook_fake):
    return make_server(
        "telegram-webhook",
        **telegram_env(webhook_fake, TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET),
    )


def test_webhook_is_registered_with_its_secret(webhook_server, webhook_fake):
    (call,) = wait_until(lambda: webhook_fake.calls_to("setWebhook"), message="setWebhook")[-1:]
    assert call.params["url"] == f"{PUBLIC_URL}/telegram/webhook"
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert not webhook_fake.calls_to("getUpdates")
    health = httpx.get(webhook_server.url + "/health").json()["checks"]["telegram"]
    assert health["mode"] == "webhook" and health["webhook"] == "set"


def test_webhook_refuses_a_missing_or_wrong_secret(webhook_server, webhook_fake):
    visitor, telegram_id = visitor_with_delivery(webhook_server, webhook_fake, "Hooked")
    url = webhook_server.url + "/telegram/webhook"
    update = webhook_fake.admin_message("spoofed reply", reply_to=telegram_id, deliver=False)
    assert webhook_fake.deliver_webhook(update, url=url, secret="")[0] == 403
    assert webhook_fake.deliver_webhook(update, url=url, secret="x" * len(WEBHOOK_SECRET))[0] == 403
    assert webhook_fake.deliver_webhook(update, url=url, secret=WEBHOOK_SECRET[:-1])[0] == 403
    assert "spoofed reply" not in visitor_texts(visitor)
    # No CSRF token, no cookie: only the secret is needed (and enough).
    assert webhook_fake.deliver_webhook(update, url=url)[0] == 200
    assert visitor_texts(visitor)[-1] == "spoofed reply"  # stored before the webhook answered
    # The same update again (Telegram retries): still one message.
    assert webhook_fake.deliver_webhook(update, url=url)[0] == 200
    assert visitor_texts(visitor).count("spoofed reply") == 1
    assert httpx.get(url).status_code == 405
    assert (
        httpx.post(url, content=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}).status_code
        == 400
    )


def test_webhook_route_is_closed_in_polling_mode(server):
    response = httpx.post(
        server.url + "/telegram/webhook", json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
    )
    assert response.status_code == 404


# -- the command ---------------------------------------------------------------------------------------------


def run_telegram_test(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "app.cli", "telegram-test", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_telegram_test_command(server, fake):
    env = {**server.env, **telegram_env(fake)}
    before = len(fake.sent("sendMessage"))
    result = run_telegram_test(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "token accepted" in result.stdout and "chat found" in result.stdout and "test message sent" in result.stdout
    assert any("Sohbet test" in t for t in fake.sent_texts()[before:])
    assert fake.token not in result.stdout + result.stderr
    wrong = run_telegram_test({**env, "TELEGRAM_BOT_TOKEN": "1:wrong"}, "--no-send")
    assert wrong.returncode == 1 and "TELEGRAM_BOT_TOKEN refused" in wrong.stdout
    chat = run_telegram_test({**env, "TELEGRAM_CHAT_ID": "777"}, "--no-send")
    assert chat.returncode == 1 and "TELEGRAM_CHAT_ID" in chat.stdout
    unset = run_telegram_test({**env, "TELEGRAM_BOT_TOKEN": ""})
    assert unset.returncode == 2 and "not configured" in unset.stderr
    bad = run_telegram_test(env, "--bogus")
    assert bad.returncode == 2 and "unrecognized arguments" in bad.stderr


# -- several processes ---------------------------------------------------------------------------------------


@pytest.mark.skipif(BACKEND != "postgres", reason="several server processes need PostgreSQL")
def test_two_processes_poll_one_at_a_time(make_server):
    shared_fake = FakeTelegram().start()
    try:
        a = make_server("poll-a", **telegram_env(shared_fake))
        shared = {"DATABASE_URL": a.env["DATABASE_URL"], "ENCRYPTION_KEYS": a.env["ENCRYPTION_KEYS"]}
        b = make_server("poll-b", **telegram_env(shared_fake), **shared)

        def pollers() -> list[str]:
            return [httpx.get(s.url + "/health").json()["checks"]["telegram"]["poller"] for s in (a, b)]

        states = wait_until(
            lambda: (p := pollers()) and sorted(p) == ["another process", "this process"] and p,
            timeout=20,
            message="one poller and one standby",
        )
        visitor, telegram_id = visitor_with_delivery(a, shared_fake, "Shared")
        replies = [f"reply {i}" for i in range(20)]
        for text in replies:
            shared_fake.admin_message(text, reply_to=telegram_id)
        wait_until(lambda: visitor_texts(visitor)[-1] == replies[-1], timeout=30, message="every reply")
        assert [t for t in visitor_texts(visitor) if t.startswith("reply ")] == replies
        assert shared_fake.max_concurrent_polls == 1 and shared_fake.poll_conflicts == 0
        assert pollers() == states  # the lease stayed where it was
        # The poller stops: the other process takes over where it left off.
        holder, standby = (a, b) if states[0] == "this process" else (b, a)
        holder.stop()
        on_standby = Browser(standby.url, cookies=visitor.http.cookies)
        shared_fake.admin_message("after the handover", reply_to=telegram_id)
        wait_until(lambda: "after the handover" in visitor_texts(on_standby), timeout=30, message="the handover")
        assert visitor_texts(on_standby).count("after the handover") == 1
        telegram = httpx.get(standby.url + "/health").json()["checks"]["telegram"]
        assert telegram["poller"] == "this process"
    finally:
        shared_fake.stop()
