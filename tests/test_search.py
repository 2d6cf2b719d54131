"""app/services/search.py in process, on a fresh database: the normaliser (Turkish i's, accents, case), the blind
index written with each message and visitor, AND queries newest first with a snippet, and entries gone with
clears, clear-all and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from app.models import Conversation, Message, SearchTerm
from app.services import search
from app.services.conversations import ConversationService
from app.services.crypto import Cipher
from app.services.realtime import Hub, MemoryBroker
from app.services.retention import Retention
from app.services.visitor_email import VisitorEmails

SECRET = "a secret key for the tests, long enough to be one"


@pytest.fixture
def cipher() -> Cipher:
    return Cipher((Fernet.generate_key().decode(),), index_key=search.index_key(SECRET))


@pytest.fixture
def service(database, cipher: Cipher) -> ConversationService:
    return ConversationService(database, cipher, MemoryBroker(Hub()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("İstanbul ISTANBUL istanbul", ["istanbul"]),
        ("IŞIK ışık Işık", ["isik"]),
        ("Café CAFE cafe\u0301", ["cafe"]),
        ("Straße strasse", ["strasse"]),
        ("a b ok, 42 x_y __", ["ok", "42", "x_y"]),
        ("Ünlü çiçek ğ", ["unlu", "cicek"]),
    ],
)
def test_words_fold_case_turkish_i_and_marks(text, expected):
    assert search.words(text) == expected


def test_terms_are_keyed_and_never_the_word():
    one, other = search.index_key("one secret"), search.index_key("another secret")
    assert search.term(one, "istanbul") == search.term(one, "istanbul") != search.term(other, "istanbul")
    assert -(2**63) <= search.term(one, "istanbul") < 2**63
    assert len(search.words("word " * 10 + " ".join(f"w{i}" for i in range(1000)))) == search.WORDS_PER_ENTRY


async def test_messages_names_and_emails_are_found_newest_first(service, cipher, database):
    old, _ = await service.start("Ayşe Yılmaz", "tr")
    new, _ = await service.start("Bob", "en", email="Bob.Jones@Example.com")
    await service.post(old.id, "visitor", "Merhaba, İstanbul'daki mağazanız açık mı?")
    await service.post(old.id, "admin", "Evet, café de açık.")
    await service.post(new.id, "visitor", "Is the ISTANBUL shop open?")
    for query in ("istanbul", "İSTANBUL", "Istanbul", "ıstanbul"):
        assert [hit.conversation_id for hit in await search.search(cipher, query)] == [new.id, old.id]
    assert [h.conversation_id for h in await search.search(cipher, "CAFE")] == [old.id]
    assert [h.conversation_id for h in await search.search(cipher, "ayse yilmaz")] == [old.id]
    assert [h.conversation_id for h in await search.search(cipher, "bob.jones@example.com")] == [new.id]
    assert [h.conversation_id for h in await search.search(cipher, "istanbul shop")] == [new.id]  # every word
    assert await search.search(cipher, "istanbul nowhere") == []
    [hit] = await search.search(cipher, "cafe")
    assert hit.snippet_sender == "admin" and ("café", True) in hit.snippet
    assert "".join(piece for piece, _ in hit.snippet) == "Evet, café de açık."
    [hit] = await search.search(cipher, "bob")
    assert hit.snippet_sender == "" and hit.display_name == "Bob"
    with pytest.raises(search.SearchRefused):
        await search.search(cipher, "  a ! ")


async def test_an_email_given_later_is_found(service, cipher, database):
    thread, _ = await service.start("Cem", "tr")
    emails = VisitorEmails(database, cipher, None, "always")  # type: ignore[arg-type]
    await emails.save(thread.id, "first@example.com")
    await emails.save(thread.id, "second@example.com")
    assert [h.conversation_id for h in await search.search(cipher, "second")] == [thread.id]
    assert await search.search(cipher, "first") == []
    assert [h.conversation_id for h in await search.search(cipher, "cem")] == [thread.id]


async def test_system_messages_are_not_indexed_and_notes_are(service, cipher):
    thread, _ = await service.start("", "en")
    await service.end(thread.id, "chat.ended")
    await service.post(thread.id, "note", "refund approved")
    assert await SearchTerm.count().where(SearchTerm.message.is_not_null()) == 1 + len(search.words("refund approved"))
    [hit] = await search.search(cipher, "refund")
    assert hit.snippet_sender == "note"


async def test_clears_clear_all_and_retention_take_the_entries(service, cipher, database):
    one, _ = await service.start("One", "en")
    two, _ = await service.start("Two", "en")
    await service.post(one.id, "visitor", "secret pineapple")
    await service.post(two.id, "visitor", "another pineapple")
    await service.clear(one.id)
    assert [h.conversation_id for h in await search.search(cipher, "pineapple")] == [two.id]
    assert await SearchTerm.count().where(SearchTerm.conversation == one.id) > 0  # the name stays findable
    later = datetime.now(UTC) + timedelta(days=3)
    await Retention(database, MemoryBroker(Hub()), 86400, lambda: None).enforce(now=later)
    assert await Message.count() == 0 and await search.search(cipher, "pineapple") == []
    await service.start("Three", "en")
    await service.clear_all()
    assert await SearchTerm.count() == 0 and await Conversation.count() == 0


async def test_a_long_message_is_indexed_whole(service, cipher):
    thread, _ = await service.start("Long", "en")
    text = " ".join(f"w{number:04d}" for number in range(800))[:4000]
    message = await service.post(thread.id, "visitor", text)
    stored = await SearchTerm.count().where(SearchTerm.message == message.id)
    assert stored == 1 + len(text.split())  # the marker and every word (666)
    assert [h.conversation_id for h in await search.search(cipher, "w0000 w0665")] == [thread.id]
