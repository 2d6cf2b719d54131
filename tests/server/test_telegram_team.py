"""Agents' own Telegram accounts (SPEC §8) against a fake Bot API: linking through `/start <token>` (once, within the
hour), login codes to the linked private chat, replies authored by the linked agent (a stranger's stay "Support"),
and /assign, /resolve, /snooze in the admin chat."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.server.test_assignment import rows
from tests.server.test_team import PASSWORD, agent_session
from tests.support import Browser, find_thread, login_admin, sql, start_visitor, wait_until

LINK_RE = re.compile(r'id="telegram-link" href="(https://t\.me/sohbet_test_bot\?start=[^"]+)"')
MESSAGE_RE = re.compile(r'<article id="msg-\d+" class="[^"]*" data-sender="admin"( data-author="([^"]*)")?')
NUR_TG, ALI_TG, STRANGER_TG = 910_000_001, 910_000_002, 910_000_003


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


@pytest.fixture(scope="module")
def server(make_server, fake):
    return make_server(
        "telegram-team",
        PUBLIC_URL="https://chat.example.test",
        TELEGRAM_TIMEOUT="2",
        TELEGRAM_POLL_SECONDS="1",
        **fake.env(),
    )


@pytest.fixture(scope="module")
def team(server, fake) -> dict[str, Browser]:
    owner = login_admin(server, codes=fake.login_codes)
    return {
        "admin": owner,
        "nur": agent_session(server, owner, "nur", "Nur Demir"),
        "ali": agent_session(server, owner, "ali", "Ali Kaya"),
    }


def texts_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [str(c.params.get("text")) for c in fake.sent("sendMessage") if str(c.params.get("chat_id")) == str(chat_id)]


def answers(fake: FakeTelegram, start: int) -> list[str]:
    """The bot's answers in the admin chat among the messages sent from the `start`th on."""
    calls = fake.sent("sendMessage")[start:]
    return [
        str(c.params["text"]) for c in calls if "allow_sending_without_reply" in str(c.params.get("reply_parameters"))
    ]


def deep_link(agent: Browser) -> tuple[str, str]:
    page = agent.post("/admin/me/telegram", {})
    assert page.status_code == 200, page.text
    (url,) = LINK_RE.findall(page.text)
    url = html.unescape(url)
    return url, url.split("start=", 1)[1]


def link(fake: FakeTelegram, agent: Browser, user_id: int, name: str) -> None:
    _, token = deep_link(agent)
    fake.stranger_message(f"/start {token}", user_id=user_id)
    wait_until(lambda: f"Linked to {name}." in " ".join(texts_to(fake, user_id)), timeout=15, message="linked")


def delivered_message_id(fake: FakeTelegram, name: str) -> int:
    def find() -> int | None:
        for call in reversed(fake.sent()):
            if f"{name}:\n" in str(call.params.get("text") or "") and isinstance(call.result, dict):
                return call.result["message_id"]
        return None

    return wait_until(find, timeout=15, message=f"a message for {name} in Telegram")


def new_conversation(server, fake, owner: Browser, name: str) -> tuple[int, int]:
    """(conversation id, the Telegram id of its first message in the admin chat)."""
    visitor = start_visitor(server.url, name)
    assert visitor.post("/chat/messages", {"text": f"hello from {name}"}).status_code == 303
    return find_thread(owner, name), delivered_message_id(fake, name)


def admin_authors(owner: Browser, thread: int) -> list[str]:
    return [author for _, author in MESSAGE_RE.findall(owner.get(f"/admin/threads/{thread}").text)]


def triage_of(owner: Browser, thread: int) -> dict[str, str]:
    """The conversation's status and assignee as the dashboard lists them."""
    for status in ("open", "snoozed", "resolved"):
        found = rows(owner, f"?view=all&status={status}").get(thread)
        if found is not None:
            return {"status": found[0], "assignee": found[1]}
    raise AssertionError(f"conversation {thread} is in no list")


def test_me_page_links_once_and_refuses_used_or_expired_tokens(server, fake, team):
    nur = team["nur"]
    page = nur.get("/admin/me")
    assert page.status_code == 200 and 'id="telegram-state" data-state="unlinked"' in page.text
    assert "t.me/" not in page.text  # a GET writes nothing: the link comes from the POST
    url, token = deep_link(nur)
    assert url.startswith("https://t.me/sohbet_test_bot?start=") and len(token) >= 32

    fake.stranger_message(f"/start {token}", user_id=NUR_TG)
    wait_until(lambda: "Linked to Nur Demir." in " ".join(texts_to(fake, NUR_TG)), timeout=15, message="linked")
    assert 'data-state="linked"' in nur.get("/admin/me").text

    # The same token again, from someone else: refused, nothing changes.
    fake.stranger_message(f"/start {token}", user_id=STRANGER_TG)
    wait_until(lambda: "does not work" in " ".join(texts_to(fake, STRANGER_TG)), timeout=15, message="refused")
    fake.stranger_message("/start not-a-token", user_id=STRANGER_TG)
    wait_until(lambda: len(texts_to(fake, STRANGER_TG)) == 2, timeout=15, message="refused again")

    # An expired token: refused.
    _, old = deep_link(team["ali"])
    sql(server.env["DATABASE_URL"], "UPDATE agent SET telegram_link_expires_at = 1 WHERE username = 'ali'")
    fake.stranger_message(f"/start {old}", user_id=ALI_TG)
    wait_until(lambda: "does not work" in " ".join(texts_to(fake, ALI_TG)), timeout=15, message="expired")
    assert 'data-state="unlinked"' in team["ali"].get("/admin/me").text

    # The audit log has the link.
    audit = team["admin"].get("/admin/audit?action=team.telegram_linked").text
    assert 'data-action="team.telegram_linked" data-actor="nur"' in audit


def test_linked_agents_author_their_replies_and_strangers_stay_support(server, fake, team):
    owner = team["admin"]
    link(fake, team["nur"], NUR_TG, "Nur Demir")
    link(fake, team["ali"], ALI_TG, "Ali Kaya")
    thread, telegram_id = new_conversation(server, fake, owner, "Authored")
    nur_user = {"id": NUR_TG, "is_bot": False, "first_name": "Nur"}
    ali_user = {"id": ALI_TG, "is_bot": False, "first_name": "Ali"}
    fake.admin_message("from nur", reply_to=telegram_id, from_user=nur_user)
    wait_until(lambda: len(admin_authors(owner, thread)) == 1, timeout=15, message="nur's reply")
    fake.admin_message("from ali", reply_to=telegram_id, from_user=ali_user)
    wait_until(lambda: len(admin_authors(owner, thread)) == 2, timeout=15, message="ali's reply")
    fake.admin_message("from a stranger in the group", reply_to=telegram_id)  # the fake's unlinked admin user
    wait_until(lambda: len(admin_authors(owner, thread)) == 3, timeout=15, message="the stranger's reply")
    assert admin_authors(owner, thread) == ["nur", "ali", ""]

    # A stranger's private chat is still ignored (no conversation, no answer), linked or not.
    before = len(fake.sent("sendMessage"))
    fake.stranger_message("hello bot", user_id=STRANGER_TG)
    fake.stranger_message("hello from nur's own chat", user_id=NUR_TG)
    marker = fake.admin_message(f"#thread:{thread} marker", from_user=nur_user)
    wait_until(lambda: len(admin_authors(owner, thread)) == 4, timeout=15, message="the marker")
    assert marker and not answers(fake, before)
    assert not [t for t in fake.sent_texts()[before:] if "hello" in t]


def test_assign_resolve_snooze_from_the_admin_chat(server, fake, team):
    owner = team["admin"]
    link(fake, team["nur"], NUR_TG, "Nur Demir")
    thread, telegram_id = new_conversation(server, fake, owner, "Commanded")
    nur_user = {"id": NUR_TG, "is_bot": False, "first_name": "Nur"}

    def command(text: str, user: dict | None = nur_user, expect: str = "") -> str:
        before = len(fake.sent("sendMessage"))
        fake.admin_message(text, reply_to=telegram_id, from_user=user)
        found = wait_until(lambda: answers(fake, before), timeout=15, message=f"the answer to {text}")
        assert expect in found[-1], found
        return found[-1]

    command("/assign @ali", expect="assigned to ali")
    assert triage_of(owner, thread)["assignee"] == "ali"
    command("/assign me", expect="assigned to nur")
    assert triage_of(owner, thread)["assignee"] == "nur"
    command("/assign @nobody", expect="Unknown agent")
    assert triage_of(owner, thread)["assignee"] == "nur"
    command("/assign", expect="unassigned")
    assert triage_of(owner, thread)["assignee"] == ""
    command("/snooze soon", expect="Snooze for how long")
    assert triage_of(owner, thread)["status"] == "open"
    command("/snooze 2h", expect="snoozed until")
    assert triage_of(owner, thread)["status"] == "snoozed"
    command("/resolve", expect="resolved")
    assert triage_of(owner, thread)["status"] == "resolved"
    resolved_by = "SELECT resolved_by FROM resolution WHERE conversation = ?"
    assert sql(server.env["DATABASE_URL"], resolved_by, thread) == [("nur",)]  # recorded for reports
    # A stranger in the admin chat may not.
    command("/assign me", user=None, expect="Link your Telegram account first")
    assert triage_of(owner, thread)["assignee"] == ""
    # Without a conversation to act on: how to use it.
    before = len(fake.sent("sendMessage"))
    fake.admin_message("/resolve", from_user=nur_user)
    assert "in a conversation's topic" in wait_until(lambda: answers(fake, before), timeout=15)[-1]


def test_a_note_from_the_admin_chat_is_for_agents_only(server, fake, team):
    owner = team["admin"]
    link(fake, team["nur"], NUR_TG, "Nur Demir")
    visitor = start_visitor(server.url, "Noted")
    assert visitor.post("/chat/messages", {"text": "hello from Noted"}).status_code == 303
    thread, telegram_id = find_thread(owner, "Noted"), delivered_message_id(fake, "Noted")
    nur_user = {"id": NUR_TG, "is_bot": False, "first_name": "Nur"}

    def command(text: str, expect: str) -> None:
        before = len(fake.sent("sendMessage"))
        fake.admin_message(text, reply_to=telegram_id, from_user=nur_user)
        found = wait_until(lambda: answers(fake, before), timeout=15, message=f"the answer to {text}")
        assert expect in found[-1], found

    command("/note called them back, all fine", expect=f"Note added to #{thread}")
    command("/note", expect="Write the note after /note")
    url = server.env["DATABASE_URL"]
    assert sql(url, "SELECT sender, author FROM message WHERE sender = 'note'") == [("note", "nur")]
    page = owner.get(f"/admin/threads/{thread}").text
    assert 'data-sender="note" data-author="nur"' in page and "called them back" in page
    assert "called them back" not in visitor.get("/").text
    # A note from the dashboard never reaches the Telegram chat (only visitors' messages go there).
    owner.post(f"/admin/threads/{thread}/messages", {"text": "dashboard-only note", "kind": "note"})
    visitor.post("/chat/messages", {"text": "after the note"})
    wait_until(lambda: any("after the note" in t for t in fake.sent_texts()), timeout=15, message="the next one")
    assert not [t for t in fake.sent_texts() if "dashboard-only note" in t or "called them back" in t]


def test_login_code_goes_to_the_linked_private_chat_and_unlink(server, fake, team):
    link(fake, team["ali"], ALI_TG, "Ali Kaya")

    def codes_to_ali() -> list[str]:
        return [m for t in texts_to(fake, ALI_TG) for m in re.findall(r"Sohbet login code: (\d{6})", t)]

    ali = login_admin(server, codes=codes_to_ali, username="ali", password=PASSWORD)
    assert ali.get("/admin").status_code == 200
    # Unlinking: the next code goes the way it went before (the development console for an agent).
    assert ali.post("/admin/me/telegram/unlink", {}).status_code == 303
    assert 'data-state="unlinked"' in ali.get("/admin/me").text
    before = len(codes_to_ali())
    login_admin(server, username="ali", password=PASSWORD)
    assert len(codes_to_ali()) == before


def test_me_page_says_when_telegram_is_not_configured(make_server):
    server = make_server("telegram-team-off")
    owner = login_admin(server)
    page = owner.get("/admin/me")
    assert 'id="telegram-state" data-state="off"' in page.text and "t.me/" not in page.text
    refused = owner.post("/admin/me/telegram", {})
    assert refused.status_code == 409 and "not set up" in refused.text


def test_an_owner_links_through_the_webhook_and_acts_in_a_forum_topic(make_server):
    """Webhook mode and a forum group: the owner links their account, gets their login code in the private chat
    (not in the group), and what they write in a conversation's topic is theirs."""
    forum = FakeTelegram(chat_id="-1001234567890", forum=True).start()
    try:
        server = make_server(
            "telegram-team-forum",
            PUBLIC_URL="https://chat.example.test",
            TELEGRAM_TIMEOUT="2",
            TELEGRAM_MODE="webhook",
            TELEGRAM_WEBHOOK_SECRET="s3cret-webhook-token_0123456789",
            **forum.env(),
        )
        hook = server.url + "/telegram/webhook"
        owner = login_admin(server, codes=forum.login_codes)
        _, token = deep_link(owner)
        user_id = forum.admin_user["id"]
        status, body = forum.deliver_webhook(
            forum.stranger_message(f"/start {token}", user_id=user_id, deliver=False), url=hook
        )
        assert status == 200 and b'"linked"' in body
        assert texts_to(forum, user_id)[-1].startswith("Linked to admin.")  # no display name yet: the username

        def codes_in(chat: object) -> list[str]:
            texts = [
                str(c.params.get("text"))
                for c in forum.sent("sendMessage")
                if str(c.params.get("chat_id")) == str(chat)
            ]
            return [m for t in texts for m in re.findall(r"Sohbet login code: (\d{6})", t)]

        in_group = len(codes_in(forum.chat_id))
        login_admin(server, codes=lambda: codes_in(user_id))
        assert len(codes_in(forum.chat_id)) == in_group

        visitor = start_visitor(server.url, "Topical Team")
        assert visitor.post("/chat/messages", {"text": "question in a topic"}).status_code == 303
        thread = find_thread(owner, "Topical Team")
        topic = wait_until(lambda: list(forum.topics), timeout=15, message="a topic")[-1]
        # The topic is known to the app once the question went into it (a topic is saved before the first send).
        wait_until(lambda: forum.sent(thread_id=topic), timeout=15, message="the question in its topic")
        for text in ("answer in the topic", "/assign me", "/snooze 1d"):
            status, _ = forum.deliver_webhook(forum.admin_message(text, thread_id=topic, deliver=False), url=hook)
            assert status == 200
        assert admin_authors(owner, thread) == ["admin"]
        assert triage_of(owner, thread) == {"status": "snoozed", "assignee": "admin"}
        said = [str(c.params.get("text")) for c in forum.sent("sendMessage", thread_id=topic)]
        assert any("assigned to admin" in t for t in said) and any("snoozed until" in t for t in said)
    finally:
        forum.stop()


def test_a_disabled_agents_account_writes_as_support_and_may_not_command(server, fake, team):
    owner = team["admin"]
    link(fake, team["nur"], NUR_TG, "Nur Demir")
    thread, telegram_id = new_conversation(server, fake, owner, "After Disable")
    assert owner.post("/admin/team/nur/disable", {}).status_code == 303
    nur_user = {"id": NUR_TG, "is_bot": False, "first_name": "Nur"}
    before = len(fake.sent("sendMessage"))
    fake.admin_message("/resolve", reply_to=telegram_id, from_user=nur_user)
    assert "Link your Telegram account first" in wait_until(lambda: answers(fake, before), timeout=15)[-1]
    fake.admin_message("still here", reply_to=telegram_id, from_user=nur_user)
    wait_until(lambda: admin_authors(owner, thread), timeout=15, message="the reply")
    assert admin_authors(owner, thread) == [""]
    assert triage_of(owner, thread)["status"] == "open"
