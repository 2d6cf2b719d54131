"""The visitor page (app/services/visitor_page.py), in process on a temporary database: a visitor's token finds its
conversation until the visitor leaves; the page is the start form (with the host page's context) or the
conversation (newest messages, the stream's cursor, support's presence, the retention notice). An unnamed visitor
stores no name and reads as "Visitor <number>" in each reader's language, from one function (visitor_names)."""

from __future__ import annotations

import pytest

from app.routes.api import thread_out
from app.services.away import SupportStatus
from app.services.presence import ADMIN
from app.services.text import TextError
from app.services.threads import threads_page
from app.services.visitor_names import display_name, label_number, visitor_label
from app.services.visitor_page import VisitorPages, retention_notice
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database

DAY = 86400


def pages(s, retention_seconds: int) -> VisitorPages:
    return VisitorPages(
        s.conversations,
        s.presence,
        retention_seconds,
        s.visitor_pages.emails,
        s.visitor_pages.guard,
        s.ratings,
        s.blocks,
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("visitor_page"))
    yield settings
    drop_database(settings.database_url)


async def test_a_token_finds_its_conversation_until_the_visitor_leaves(settings):
    async with running_services(settings) as s:
        thread, token = await s.conversations.start("Ayşe", "tr")
        found = await s.visitor_pages.conversation(token)
        assert found is not None and found.id == thread.id
        assert await s.visitor_pages.conversation(None) is None
        assert await s.visitor_pages.conversation("not-a-token") is None
        await s.conversations.leave(thread.id, "chat.ended_note")
        assert await s.visitor_pages.conversation(token) is None  # revoked


def test_the_retention_notice_only_when_messages_expire():
    assert retention_notice(0, "en") == ""
    english = retention_notice(30 * DAY, "en")
    assert "30" in english
    assert retention_notice(30 * DAY, "tr") not in ("", english)


async def test_without_a_conversation_the_page_is_the_start_form(settings):
    async with running_services(settings) as s:
        source = {"source_url": "https://shop.example/cart", "source_referrer": None}
        context = await pages(s, 7 * DAY).page(None, "en", embed=True, source=source)
        assert context.pop("start_stamp")  # the bots' check (tests/test_start_guard.py)
        assert context == {
            "support_online": False,
            "away": SupportStatus(False),
            "retention_notice": retention_notice(7 * DAY, "en"),
            "ask_email": True,  # ASK_EMAIL=away, and no agent online
            **source,
        }
        bare = await pages(s, 0).page(None, "en", embed=False)
        offline = {"support_online": False, "away": SupportStatus(False)}
        assert bare.pop("start_stamp") and bare == {**offline, "retention_notice": "", "ask_email": True}


async def test_with_a_conversation_the_page_shows_it(settings):
    async with running_services(settings) as s:
        thread, token = await s.conversations.start("", "en")
        await s.conversations.post(thread.id, "visitor", "hello")
        await s.conversations.post(thread.id, "admin", "hi there")
        conversation = await s.visitor_pages.conversation(token)
        assert conversation is not None
        await s.presence.enter(ADMIN)
        try:
            context = await pages(s, 0).page(conversation, "tr", embed=True, source={"x": "y"})
        finally:
            await s.presence.leave(ADMIN)
        assert [m.text for m in context["messages"]] == ["hello", "hi there"]
        assert context["has_more"] is False
        assert context["cursor"] == conversation.last_seq == 2  # the page's stream continues from here
        assert context["conversation"] is conversation and context["viewer"] == "visitor"
        number = label_number(conversation.id)
        assert context["display_name"] == f"Ziyaretçi {number}"  # no name given: a label, in the page's language
        assert context["support_online"] is True
        assert context["post_url"] == "/chat/messages?embed=1"  # the widget's form stays in the widget
        assert context["retention_notice"] == ""
        assert "x" not in context  # the host page's context is for a new conversation only
        page = await pages(s, 0).page(conversation, "en", embed=False)
        assert page["post_url"] == "/chat/messages" and page["display_name"] == f"Visitor {number}"


async def test_starting_a_conversation_checks_the_name_and_stores_none_when_none_is_given(settings):
    async with running_services(settings) as s:
        named, token = await s.visitor_pages.start(
            {"display_name": "  Ayşe  "}, "en", source_url="https://shop.example/"
        )
        assert named.display_name == "Ayşe" and await s.visitor_pages.conversation(token) is not None
        unnamed, _ = await s.visitor_pages.start({"display_name": ""}, "tr")
        assert unnamed.display_name == ""  # nothing localized stored: each reader gets a label in their language
        assert display_name(unnamed, "en") == f"Visitor {label_number(unnamed.id)}"
        blank, _ = await s.visitor_pages.start({"display_name": "   "}, "en")
        assert blank.display_name == ""
        with pytest.raises(TextError):
            await s.visitor_pages.start({"display_name": "x" * 500}, "en")
        form = await s.visitor_pages.start_form("en", source_url="https://shop.example/")
        assert form.pop("start_stamp") and form == {
            "support_online": False,
            "away": SupportStatus(False),
            "retention_notice": "",
            "ask_email": True,
            "source_url": "https://shop.example/",
        }


def test_an_unnamed_visitors_label_is_distinct_stable_and_in_the_readers_language():
    numbers = [label_number(n) for n in range(1, 20_001)]
    assert len(set(numbers)) == len(numbers)  # distinct
    assert all(1000 <= n <= 9999 for n in numbers[:9000])  # four digits for the first 9,000 conversations
    assert (numbers[0], numbers[9000]) == (4821, 13821)  # stable: derived from the id alone, the same in every version
    assert numbers[1] != numbers[0] + 1  # not the conversation count in disguise
    assert visitor_label("", 1, "en") == f"Visitor {numbers[0]}"
    assert visitor_label("", 1, "tr") == f"Ziyaretçi {numbers[0]}"
    assert visitor_label("Ayşe", 1, "en") == "Ayşe"
    # Conversations from before stored the default name in the visitor's language: read as unnamed.
    assert visitor_label("Ziyaretçi", 2, "en") == visitor_label("Visitor", 2, "en") == f"Visitor {numbers[1]}"
    assert visitor_label("Visitor", 2, "tr") == f"Ziyaretçi {numbers[1]}"


async def test_every_reader_gets_the_label_in_their_language(settings):
    """The visitor page in the visitor's language; the dashboard's list and header and the JSON API in the
    agent's. A conversation an older version stored as "Ziyaretçi" reads the same as one with no name."""
    async with running_services(settings) as s:
        unnamed, token = await s.visitor_pages.start({"display_name": ""}, "tr")
        legacy, _ = await s.conversations.start("Ziyaretçi", "tr")
        named, _ = await s.visitor_pages.start({"display_name": "Deniz"}, "tr")
        await s.conversations.post(unnamed.id, "visitor", "merhaba")
        conversation = await s.visitor_pages.conversation(token)
        assert conversation is not None
        page = await s.visitor_pages.page(conversation, "tr", embed=False)
        assert page["display_name"] == f"Ziyaretçi {label_number(unnamed.id)}"
        listed = await threads_page(s.conversations, s.presence, None, lang="en", open_id=legacy.id)
        names = {t.id: t.display_name for t in listed.threads}
        assert names[unnamed.id] == f"Visitor {label_number(unnamed.id)}"
        assert names[legacy.id] == f"Visitor {label_number(legacy.id)}" != names[unnamed.id]
        assert names[named.id] == "Deniz"
        assert listed.open_thread is not None and listed.open_thread.display_name == names[legacy.id]
        assert {t.id: thread_out(t).display_name for t in listed.threads} == names
        assert display_name(await s.conversations.get(legacy.id), "en") == names[legacy.id]  # the header
