"""Blocking visitors (SPEC §11) through HTTP: an agent blocks a conversation's visitor from its header; from then on
the visitor's cookie and the address they started from get a neutral 403 page on every visitor path, and nothing
they send reaches the agents or the (fake) Telegram chat; unblocking restores them. Owners block ranges on
/admin/blocks; bad input is a clear 422 that keeps what was typed; every block and unblock is in the audit log."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.support import Browser, find_thread, login_admin, start_visitor, wait_until

NEUTRAL = "This chat is not available."


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


@pytest.fixture(scope="module")
def server(make_server, fake):
    return make_server("blocks", PUBLIC_URL="https://chat.example.test", TELEGRAM_RETRY_SECONDS="1s", **fake.env())


def owner(server, fake: FakeTelegram) -> Browser:
    codes = lambda: [m for t in fake.sent_texts() for m in re.findall(r"login code: (\d{6})", t)]  # noqa: E731
    return login_admin(server, codes=codes)


def test_a_blocked_visitor_reaches_nobody_until_unblocked(server, fake):
    admin = owner(server, fake)
    troll = start_visitor(server.url, "Troll")
    assert troll.post("/chat/messages", {"text": "first words"}).status_code == 303
    wait_until(lambda: any("first words" in t for t in fake.sent_texts()), message="the first message in Telegram")
    thread = find_thread(admin, "Troll")
    assert 'id="block"' in admin.get(f"/admin/threads/{thread}").text
    blocked = admin.post(f"/admin/threads/{thread}/block", {"reason": "spam", "duration": "7d"})
    assert blocked.status_code == 303
    header = admin.get(f"/admin/threads/{thread}").text
    assert 'data-blocked="yes"' in header and "spam" in header

    refused = troll.post("/chat/messages", {"text": "second words"})
    assert refused.status_code == 403 and NEUTRAL in refused.text
    page = troll.get("/")
    assert page.status_code == 403 and NEUTRAL in page.text and "Troll" not in page.text
    assert troll.http.get("/chat/events").status_code == 403
    as_json = troll.http.post(
        "/chat/messages", data={"text": "x", "_csrf_token": troll.csrf_token}, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 403 and as_json.json()["error"] == NEUTRAL
    newcomer = Browser(server.url)  # the same address, without the cookie: blocked too
    assert newcomer.get("/").status_code == 403
    assert newcomer.http.get("/embed").status_code == 403
    time.sleep(1.5)
    assert not any("second words" in t for t in fake.sent_texts())
    assert "second words" not in admin.get(f"/admin/threads/{thread}").text
    assert admin.get("/admin").status_code == 200  # the dashboard is not a visitor path

    assert admin.post(f"/admin/threads/{thread}/unblock").status_code == 303
    assert troll.get("/").status_code == 200
    assert troll.post("/chat/messages", {"text": "third words"}).status_code == 303
    wait_until(lambda: any("third words" in t for t in fake.sent_texts()), message="the third message in Telegram")
    audit = admin.get("/admin/audit").text
    assert "Visitor blocked" in audit and "Visitor unblocked" in audit


def test_blocking_from_the_header_with_htmx_and_bad_durations(server, fake):
    admin = owner(server, fake)
    start_visitor(server.url, "Htmx Troll")
    thread = find_thread(admin, "Htmx Troll")
    bad = admin.post(f"/admin/threads/{thread}/block", {"reason": "keep me", "duration": "5m"}, htmx=True)
    assert bad.status_code == 422 and "at most a year" in bad.text and 'value="keep me"' in bad.text
    assert admin.post(f"/admin/threads/{thread}/block", {"duration": "5m"}).status_code == 422  # no JS: a page
    assert admin.post("/admin/threads/999999/block", {"duration": "24h"}).status_code == 404
    box = admin.post(f"/admin/threads/{thread}/block", {"reason": "", "duration": "24h"}, htmx=True)
    assert box.status_code == 200 and box.text.lstrip().startswith("<details") and 'data-blocked="yes"' in box.text
    box = admin.post(f"/admin/threads/{thread}/unblock", htmx=True)
    assert box.status_code == 200 and 'data-blocked="yes"' not in box.text


def test_owners_block_ranges(server, fake):
    admin = owner(server, fake)
    bad = admin.post("/admin/blocks", {"network": "10.0.0.0/33", "reason": "scanner", "duration": "forever"})
    assert bad.status_code == 422 and "not an IP address" in bad.text and 'value="10.0.0.0/33"' in bad.text
    assert admin.post("/admin/blocks", {"network": "10.0.0.0/8", "reason": "scanner"}).status_code == 303
    listed = admin.get("/admin/blocks").text
    assert "10.0.0.0/8" in listed and "scanner" in listed
    block_id = re.search(r'id="block-(\d+)" data-kind="cidr"', listed).group(1)
    assert Browser(server.url).get("/").status_code == 200  # 127.0.0.1 is not in 10/8
    assert admin.post(f"/admin/blocks/{block_id}/delete").status_code == 303
    assert "10.0.0.0/8" not in admin.get("/admin/blocks").text
    assert admin.post(f"/admin/blocks/{block_id}/delete").status_code == 404
    assert admin.post("/admin/blocks", {"network": "127.0.0.0/8", "duration": "24h"}).status_code == 303
    assert Browser(server.url).get("/").status_code == 403
    loopback = re.search(r'id="block-(\d+)" data-kind="cidr"', admin.get("/admin/blocks").text).group(1)
    assert admin.post(f"/admin/blocks/{loopback}/delete").status_code == 303
    assert Browser(server.url).get("/").status_code == 200
