"""Replies by email in process (SPEC §9), the loop's rounds called by hand: rounds running at once (as in several
server processes) queue a burst once; system messages are never mailed (and move `emailed_seq` on); a reply is not
due before EMAIL_AFTER, nor ever mailed once older than EMAIL_AFTER + a day; the visitor's name cannot add a
header; the mail speaks the conversation's language."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.models import Conversation, Message
from app.models import MailOutbox as OutboxRow
from app.services.replies import STALE_SECONDS
from tests.fakes.smtp import FakeSmtp
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database


@pytest.fixture(scope="module")
def smtp():
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, smtp):
    settings = migrated_settings(
        tmp_path_factory.mktemp("replies"),
        SMTP_URL=smtp.url,
        MAIL_FROM="chat@example.com",
        PUBLIC_URL="https://chat.example.com",
        EMAIL_AFTER="0",
    )
    yield settings
    drop_database(settings.database_url)


@pytest.fixture
async def services(settings):
    async with running_services(settings) as s:
        await OutboxRow.delete(force=True)
        yield s


async def conversation(s, name: str, email: str, lang: str = "en") -> int:
    thread, _ = await s.conversations.start(name, lang, email=email)
    return thread.id


async def emailed_seq(conversation_id: int) -> int:
    row = await Conversation.select(Conversation.emailed_seq).where(Conversation.id == conversation_id).first()
    return int(row["emailed_seq"])


async def test_rounds_at_once_queue_one_mail_per_burst(services):
    cid = await conversation(services, "Burst", "burst@example.com")
    await services.conversations.post(cid, "admin", "one", author="admin")
    await services.conversations.post(cid, "admin", "two", author="admin")
    queued = await asyncio.gather(*(services.replies.send_due() for _ in range(4)))
    assert sum(queued) == 1
    assert await OutboxRow.count().where(OutboxRow.conversation == cid) == 1
    assert await emailed_seq(cid) == 2
    assert await services.replies.send_due() == 0  # nothing new: nothing more


async def test_system_messages_are_never_mailed(services):
    cid = await conversation(services, "Systemic", "system@example.com")
    await services.conversations.post(cid, "visitor", "hi")
    await services.conversations.post(cid, "system", "chat.ended_note")
    assert await services.replies.send_due() == 0
    assert await OutboxRow.count().where(OutboxRow.conversation == cid) == 0
    assert await emailed_seq(cid) == 2  # looked at once, then never again


async def test_not_due_before_email_after(services, settings):
    cid = await conversation(services, "Patient", "patient@example.com")
    await services.conversations.post(cid, "admin", "soon", author="admin")
    later = dataclasses.replace(settings, email_after_seconds=3600)
    async with running_services(later) as slow:
        assert await slow.replies.send_due() == 0
    assert await OutboxRow.count().where(OutboxRow.conversation == cid) == 0


async def test_hostile_name_and_turkish_mail(services, smtp):
    smtp.raw.clear()
    cid = await conversation(services, "Evil\r\nBcc: thief@example.com", "victim@example.com", lang="tr")
    await services.conversations.post(cid, "admin", "<script>x</script>", author="admin")
    assert await services.replies.send_due() >= 1  # (the earlier test's reply is due now too)
    await services.mail.send_pending()
    (index,) = [i for i, m in enumerate(smtp.messages) if "victim@example.com" in str(m["To"])]
    mail = smtp.messages[index]
    assert ["victim@example.com"] in [recipients for _, recipients in smtp.envelopes]
    assert "thief" not in str([recipients for _, recipients in smtp.envelopes])
    head = smtp.raw[index].split(b"\r\n\r\n", 1)[0].decode()
    assert not any(line.lower().startswith("bcc") for line in head.split("\r\n"))  # the name stays inside To
    assert "yanıt" in str(mail["Subject"])
    html_part = mail.get_body(preferencelist=("html",)).get_content()
    assert "&lt;script&gt;" in html_part and "<script>" not in html_part


async def test_stale_replies_are_passed_over_when_mail_is_first_set_up(services, smtp):
    """SMTP_URL set only now (or the server away for a day): replies older than EMAIL_AFTER + STALE_SECONDS were
    due long ago and are never mailed (emailed_seq moves past them); newer ones of the same conversation are."""
    smtp.raw.clear()
    old = await conversation(services, "Long ago", "old@example.com")
    await services.conversations.post(old, "admin", "stale reply", author="admin")
    mixed = await conversation(services, "Mixed", "mixed@example.com")
    await services.conversations.post(mixed, "admin", "an old one", author="admin")
    await services.conversations.post(mixed, "admin", "a new one", author="admin")
    long_ago = datetime.now(UTC) - timedelta(seconds=STALE_SECONDS + 3600)
    await Message.update({Message.created_at: long_ago}).where(
        (Message.conversation == old) | ((Message.conversation == mixed) & (Message.seq == 1))
    )
    await services.replies.send_due()
    await services.mail.send_pending()
    assert await OutboxRow.count().where(OutboxRow.conversation == old) == 0
    assert await emailed_seq(old) == 1 and await emailed_seq(mixed) == 2
    (mail,) = [m for m in smtp.messages if "mixed@example.com" in str(m["To"])]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "a new one" in text and "an old one" not in text
    assert not [m for m in smtp.messages if "old@example.com" in str(m["To"])]
    assert await services.replies.send_due() == 0
