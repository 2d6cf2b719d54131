"""Bots without captcha (SPEC §11), through HTTP: a naive bot (an instant post, the honeypot filled, or a post with
no form at all) starts nothing and gets a clear page back; RATE_LIMIT_START caps new conversations per address
with a page that says so. A person's speed is tests/browser/test_bots.py."""

from __future__ import annotations

import re
import time

import pytest

from tests.support import Browser, login_admin

STAMP_RE = re.compile(r'name="started" value="([^"]+)"')


@pytest.fixture(scope="module")
def guarded(make_server):
    return make_server("bots", START_MIN_SECONDS="2", RATE_LIMIT_START="20/hour")


def names(admin: Browser) -> list[str]:
    return re.findall(r'<span class="name">(.*?)</span>', admin.get("/admin").text)


def test_an_instant_post_or_a_filled_honeypot_starts_nothing(guarded):
    bot = Browser(guarded.url)
    page = bot.get("/")
    stamp = STAMP_RE.search(page.text).group(1)
    instant = bot.post("/chat/start", {"display_name": "Bot", "started": stamp})
    assert instant.status_code == 422 and "press Start chat again" in instant.text
    assert 'value="Bot"' in instant.text  # nothing typed is lost
    assert "sohbet_visitor" not in instant.cookies
    no_form = bot.post("/chat/start", {"display_name": "Bot"})
    assert no_form.status_code == 422 and "press Start chat again" in no_form.text
    time.sleep(2.1)
    honeypot = bot.post("/chat/start", {"display_name": "Spam", "started": stamp, "hp": "http://spam.example"})
    assert honeypot.status_code == 422 and "could not be started" in honeypot.text
    as_htmx = bot.post(
        "/chat/start", {"display_name": "Bot", "started": STAMP_RE.search(honeypot.text).group(1)}, htmx=True
    )
    assert as_htmx.status_code == 422 and 'id="start-error"' in as_htmx.text and "<html" not in as_htmx.text
    admin = login_admin(guarded)
    assert names(admin) == []
    # The form that came back carries a fresh stamp: a person who waits and presses again starts the chat.
    time.sleep(2.1)
    again = bot.post("/chat/start", {"display_name": "Person", "started": STAMP_RE.search(no_form.text).group(1)})
    assert again.status_code == 303, again.text
    assert names(admin) == ["Person"]


def test_new_conversations_per_address_are_limited_with_a_clear_page(make_server):
    server = make_server("start-limit", START_MIN_SECONDS="0", RATE_LIMIT_START="2/hour")
    statuses = []
    for i in range(3):
        visitor = Browser(server.url)
        visitor.get("/")
        response = visitor.post("/chat/start", {"display_name": f"V{i}"})
        statuses.append(response.status_code)
    assert statuses == [303, 303, 429]
    assert "Too many new chats from your network" in response.text
    as_json = visitor.http.post(
        "/chat/start", data={"_csrf_token": visitor.csrf_token}, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 429 and as_json.json()["code"] == "rate_limited"
