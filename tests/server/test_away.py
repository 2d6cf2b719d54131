"""Business hours and away mode over HTTP against real servers (SPEC §9): the owner's fieldset on /admin/settings
(environment defaults, per-field 422 keeping what was typed and saving nothing), the visitor page's away state
(away message, expected reply; business hours win over an open dashboard), the away message posted once per away
period as a `system` message and again in the next one, and HIDE_WHEN_AWAY's leave-a-message form in the widget,
without JavaScript."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from tests.server.test_embed import Frame
from tests.server.test_revocation import OneStream, jar
from tests.server.test_settings_page import FIELDS, field_value
from tests.support import Browser, Server, find_thread, login_admin, start_visitor, wait_until

AWAY = "We are out for lunch"
EXPECTED = "within a few hours"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def closed_all_day_today() -> str:
    """Hours that are closed now, whatever the time: open only on another day (UTC)."""
    return f"{DAYS[(datetime.now(UTC) + timedelta(days=2)).weekday()]} 00:00-24:00"


def messages(page: str) -> list[tuple[str, str]]:
    """(sender, text) of each message on a page, oldest first."""
    found = re.findall(r'data-sender="(\w+)".*?<div class="msg-text">(.*?)</div>', page, re.S)
    return [(sender, html.unescape(text)) for sender, text in found]


def status_line(page: str) -> str:
    """The visitor page's status line, as text."""
    line = re.search(r'<p id="support-status"[^>]*>(.*?)</p>', page, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>", "", line)).strip()


def hours_fields(**changes: str) -> dict[str, str]:
    values = {
        "hours_form": "1",
        "business_hours": "",
        "timezone": "UTC",
        "away_message": AWAY,
        "expected_reply": EXPECTED,
    }
    return {**FIELDS, "embed_origins": "", **values, **changes}


def test_the_settings_page_checks_hours_and_time_zone_and_keeps_what_was_typed(make_server: Callable[..., Server]):
    server = make_server("away-settings", BUSINESS_HOURS="Mon-Fri 09:00-18:00", TIMEZONE="Europe/Istanbul")
    owner = login_admin(server)
    page = owner.get("/admin/settings").text
    assert "Business hours and away mode" in page
    assert field_value(page, "business_hours") == "Mon-Fri 09:00-18:00"  # the environment's, until saved here
    assert field_value(page, "timezone") == "Europe/Istanbul"

    wrong = owner.post(
        "/admin/settings", hours_fields(business_hours="Mon-Fri 9-18; Sat 10:00-14:00", timezone="Mars/Olympus")
    )
    assert wrong.status_code == 422
    assert "Not a time range: 9-18" in wrong.text and "Unknown time zone: Mars/Olympus" in wrong.text
    assert field_value(wrong.text, "business_hours") == "Mon-Fri 9-18; Sat 10:00-14:00"  # kept as typed
    assert field_value(wrong.text, "timezone") == "Mars/Olympus"
    assert field_value(wrong.text, "away_message") == AWAY and field_value(wrong.text, "site_name") == "Acme Shoes"
    assert 'id="business_hours" name="business_hours"' in wrong.text and 'aria-invalid="true"' in wrong.text
    after = owner.get("/admin/settings").text
    assert field_value(after, "business_hours") == "Mon-Fri 09:00-18:00" and field_value(after, "site_name") == ""

    day = owner.post("/admin/settings", hours_fields(business_hours="Mo 09:00-18:00"))
    assert day.status_code == 422 and "Unknown day: Mo" in day.text
    long_text = owner.post("/admin/settings", hours_fields(away_message="x" * 501))
    assert long_text.status_code == 422 and "At most 500 characters" in long_text.text

    saved = owner.post(
        "/admin/settings",
        hours_fields(business_hours="mon-fri 09:00-12:00, 13:00-18:00\nsat 10:00-14:00", timezone="Europe/Berlin"),
    )
    assert saved.status_code == 303, saved.text
    page = owner.get("/admin/settings").text
    assert field_value(page, "business_hours") == "mon-fri 09:00-12:00, 13:00-18:00; sat 10:00-14:00"
    assert field_value(page, "timezone") == "Europe/Berlin" and field_value(page, "expected_reply") == EXPECTED

    # A post without the fieldset leaves them alone.
    branding_only = owner.post("/admin/settings", {**FIELDS, "embed_origins": ""})
    assert branding_only.status_code == 303
    assert field_value(owner.get("/admin/settings").text, "timezone") == "Europe/Berlin"


def test_the_away_message_is_posted_once_per_away_period(make_server: Callable[..., Server]):
    """Always open, nobody on a dashboard: away. The first visitor message gets the away message, the next ones
    do not (an agent answering meanwhile, without a dashboard open, starts no new period); a message while an
    agent is on a dashboard gets none and ends the period; away again, the next message gets it again; outside
    business hours an open dashboard does not count."""
    server = make_server("away-once", AWAY_MESSAGE=AWAY, EXPECTED_REPLY=EXPECTED)
    visitor = start_visitor(server.url, "Leyla")
    page = visitor.get("/").text
    assert status_line(page) == f"{AWAY} Expected reply: {EXPECTED}"
    assert 'class="support-status offline"' in page

    for text in ("Hello?", "Anyone there?"):
        assert visitor.post("/chat/messages", {"text": text}).status_code == 303
    assert messages(visitor.get("/").text) == [
        ("visitor", "Hello?"),
        ("system", AWAY),
        ("visitor", "Anyone there?"),
    ]
    admin = login_admin(server)
    thread = find_thread(admin, "Leyla")
    assert admin.post(f"/admin/threads/{thread}/messages", {"text": "Answering by mail"}).status_code == 303
    assert visitor.post("/chat/messages", {"text": "Thanks"}).status_code == 303
    assert messages(visitor.get("/").text)[-2:] == [("admin", "Answering by mail"), ("visitor", "Thanks")]

    def online() -> bool:
        return 'class="support-status online"' in visitor.get("/").text

    stream = OneStream(server.url, "/admin/events", jar(admin)).opened()
    try:
        wait_until(online, message="support online")
        assert visitor.post("/chat/messages", {"text": "Are you there now?"}).status_code == 303
        assert messages(visitor.get("/").text)[-1] == ("visitor", "Are you there now?")
    finally:
        admin.post("/logout")
        wait_until(lambda: stream.ended_at is not None, timeout=10, message="the stream to end")
    wait_until(lambda: not online(), message="support away again")
    for text in ("Hello again?", "Still there?"):
        assert visitor.post("/chat/messages", {"text": text}).status_code == 303
    assert messages(visitor.get("/").text)[-3:] == [
        ("visitor", "Hello again?"),
        ("system", AWAY),
        ("visitor", "Still there?"),
    ]

    owner = login_admin(server)
    stream = OneStream(server.url, "/admin/events", jar(owner)).opened()
    try:
        wait_until(online, message="support online")
        assert visitor.post("/chat/messages", {"text": "Back?"}).status_code == 303
        # Outside business hours the open dashboard does not count: away, and a new period.
        assert owner.post("/admin/settings", hours_fields(business_hours=closed_all_day_today())).status_code == 303
        page = visitor.get("/").text  # the owner's save reloads the settings before it answers
        assert 'class="support-status offline"' in page and AWAY in status_line(page)
        assert visitor.post("/chat/messages", {"text": "Closed?"}).status_code == 303
        assert messages(visitor.get("/").text)[-3:] == [("visitor", "Back?"), ("visitor", "Closed?"), ("system", AWAY)]
    finally:
        owner.post("/logout")
        wait_until(lambda: stream.ended_at is not None, timeout=10, message="the stream to end")
    assert [s for s, _ in messages(visitor.get("/").text)].count("system") == 3


def test_the_start_page_shows_the_default_away_message_in_the_visitors_language(make_server: Callable[..., Server]):
    server = make_server("away-start", BUSINESS_HOURS=closed_all_day_today())
    english = httpx_get(server, "/", "en")
    assert "Support is offline" in status_line(english)  # no AWAY_MESSAGE: the status line as before
    visitor = start_visitor(server.url, "Ali")
    visitor.post("/chat/messages", {"text": "Merhaba"})
    turkish = visitor.get("/", headers={"accept-language": "tr"}).text
    assert messages(turkish)[-1] == ("system", "Destek çevrimdışı — mesaj bırakın")  # the status line's words
    # ASK_EMAIL=away (the default) offers the email field outside business hours.
    assert 'name="email"' in Browser(server.url).get("/").text


def httpx_get(server: Server, path: str, lang: str) -> str:
    return Browser(server.url).get(path, headers={"accept-language": lang}).text


def test_hide_when_away_turns_the_widget_into_a_leave_a_message_form(make_server: Callable[..., Server]):
    server = make_server("away-leave", HIDE_WHEN_AWAY="on", AWAY_MESSAGE=AWAY)
    visitor = Frame(server)
    widget = visitor.get("/embed").text
    assert 'action="/chat/leave?embed=1"' in widget and 'name="text"' in widget and "Leave a message" in widget
    assert 'action="/chat/start' not in widget
    assert 'action="/chat/start' in Browser(server.url).get("/").text  # the page itself keeps the live chat

    missing = visitor.post("/chat/leave?embed=1", {"display_name": "Deniz", "email": "", "text": "Call me back"})
    assert missing.status_code == 422 and "Please enter your email address." in missing.text
    assert "Call me back</textarea>" in missing.text and 'value="Deniz"' in missing.text
    empty = visitor.post("/chat/leave?embed=1", {"display_name": "Deniz", "email": "deniz@example.com", "text": " "})
    assert empty.status_code == 422 and 'value="deniz@example.com"' in empty.text

    sent = visitor.post(
        "/chat/leave?embed=1", {"display_name": "Deniz", "email": "deniz@example.com", "text": "Call me back"}
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/embed"
    chat = visitor.get("/embed").text
    assert messages(chat) == [("visitor", "Call me back"), ("system", AWAY)]
    admin = login_admin(server)
    thread = find_thread(admin, "Deniz")
    assert "deniz@example.com" in admin.get(f"/admin/threads/{thread}").text  # the agent sees where replies go


def test_the_launcher_carries_the_hours_to_show_the_away_state(make_server: Callable[..., Server]):
    """embed.js marks its button away outside business hours (read on the zone's wall clock in the host page's
    browser) before its chat is loaded; the chat tells it about agents once loaded (app/static/embed-frame.js)."""
    server = make_server("away-launcher", BUSINESS_HOURS="Mon-Fri 09:00-18:00", TIMEZONE="Europe/Berlin")
    launcher = httpx.get(server.url + "/embed.js", follow_redirects=True).text
    assert '"h":[[0,540,1080],[1,540,1080],[2,540,1080],[3,540,1080],[4,540,1080]],"z":"Europe/Berlin"' in launcher
    owner = login_admin(server)
    assert owner.post("/admin/settings", hours_fields(business_hours="")).status_code == 303
    always = httpx.get(server.url + "/embed.js", follow_redirects=True).text  # a new version, without hours
    assert '"h":' not in always and always != launcher
