"""app/services/retention.py in process: old messages and idle conversations go (their files queued for
deletion), recent ones stay, API uploads never sent go after a day, old rating comments are emptied, and streams
are told to re-read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from app.models import Attachment, Conversation, FileDeletion, Message, Rating
from app.services.attachments import StoredFile
from app.services.conversations import ConversationService
from app.services.crypto import Cipher
from app.services.ratings import Ratings, resolve
from app.services.realtime import ADMIN_TOPIC, Hub, MemoryBroker
from app.services.retention import Retention, describe
from app.services.uploads import CheckedFile

DAY = 86400


def image(public_id: str) -> StoredFile:
    checked = CheckedFile("image", "png", "image/png", b"\x89PNG fake", 4, 3, "a.png")
    return StoredFile(public_id=public_id, checked=checked, backend="local", storage_key=f"key-{public_id}")


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def conversations(database, hub: Hub) -> ConversationService:
    return ConversationService(database, Cipher((Fernet.generate_key().decode(),)), MemoryBroker(hub))


def retention(database, hub: Hub, seconds: int, queued: list[int]) -> Retention:
    return Retention(database, MemoryBroker(hub), seconds, lambda: queued.append(1))


async def test_old_messages_and_idle_conversations_go_recent_ones_stay(database, hub, conversations):
    busy, _ = await conversations.start("Busy", "en")
    idle, _ = await conversations.start("Idle", "en")
    await conversations.post(busy.id, "visitor", "old, with a file", image("old"))
    await conversations.post(idle.id, "visitor", "old too")
    await conversations.post(busy.id, "admin", "recent")
    later = datetime.now(UTC) + timedelta(days=2)
    # Two days on: everything written so far is old; only "Busy" is active again (a post a day from now).
    await Conversation.update({Conversation.last_activity_at: later - timedelta(hours=1)}).where(
        Conversation.id == busy.id
    )
    await Message.update({Message.created_at: later - timedelta(hours=1)}).where(Message.seq == 2)
    admin = hub.subscribe([ADMIN_TOPIC])
    queued: list[int] = []
    done = await retention(database, hub, DAY, queued).enforce(now=later)
    assert done == {"messages": 2, "conversations": 1, "unsent_uploads": 0}
    assert [c["display_name"] for c in await Conversation.select(Conversation.display_name)] == ["Busy"]
    [kept], _ = await conversations.page(busy.id)
    assert kept.text == "recent"
    assert await Attachment.count() == 0
    assert [r["storage_key"] for r in await FileDeletion.select(FileDeletion.storage_key)] == ["key-old"]
    assert [e.kind for e in admin.pending] == ["clear_all"] and queued == [1]


async def test_nothing_to_delete_tells_nobody(database, hub, conversations):
    thread, _ = await conversations.start("Fresh", "en")
    await conversations.post(thread.id, "visitor", "just now")
    admin = hub.subscribe([ADMIN_TOPIC])
    queued: list[int] = []
    done = await retention(database, hub, DAY, queued).enforce()
    assert done == {"messages": 0, "conversations": 0, "unsent_uploads": 0}
    assert admin.pending == [] and queued == [] and await Message.count() == 1


async def test_uploads_never_sent_go_after_a_day_even_without_retention(database, hub, conversations):
    await conversations.stage(image("fresh"))
    await conversations.stage(image("stale"))
    await Attachment.update({Attachment.created_at: datetime.now(UTC) - timedelta(days=1, minutes=1)}).where(
        Attachment.public_id == "stale"
    )
    queued: list[int] = []
    done = await retention(database, hub, 0, queued).enforce()
    assert done == {"messages": 0, "conversations": 0, "unsent_uploads": 1}
    assert [r["public_id"] for r in await Attachment.select(Attachment.public_id)] == ["fresh"]
    assert [r["storage_key"] for r in await FileDeletion.select(FileDeletion.storage_key)] == ["key-stale"]
    assert queued == [1]


def test_the_interval_follows_the_retention_within_bounds(database, hub):
    assert [retention(database, hub, s, []).interval for s in (2, 100, DAY)] == [1.0, 25.0, 60.0]


def test_durations_are_described_in_the_largest_whole_unit():
    def t(key: str) -> str:
        return key.removeprefix("unit.")

    assert describe(30 * DAY, t) == "30 days" and describe(DAY, t) == "1 day"
    assert describe(7200, t) == "2 hours" and describe(90, t) == "90 seconds" and describe(300, t) == "5 minutes"


async def test_old_rating_comments_are_emptied_and_their_scores_kept(database, hub, conversations):
    """A rating's comment is the visitor's words: it goes with the messages of its time (app/services/ratings.py)."""
    cipher = Cipher((Fernet.generate_key().decode(),))
    ratings = Ratings(database, cipher)
    kept, _ = await conversations.start("Rated", "en")
    await conversations.post(kept.id, "visitor", "thanks")
    assert await resolve(database, kept.id, "ann")
    await ratings.rate(kept.id, None, "5", "lovely people")
    later = datetime.now(UTC) + timedelta(days=2)
    await Conversation.update({Conversation.last_activity_at: later}).where(Conversation.id == kept.id)
    await retention(database, hub, DAY, []).enforce(now=later)
    [row] = await Rating.select(Rating.score, Rating.comment)
    assert (row["score"], row["comment"]) == (5, "")
