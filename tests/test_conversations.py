"""app/services/conversations.py in process, on a fresh database: gap-free sequence numbers, encryption at rest,
paging and catch-up, unread counts, clearing, ending and leaving, idempotent posts, and the events streams get."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.models import Attachment, Conversation, FileDeletion, Message
from app.services.attachments import StoredFile
from app.services.conversations import ConversationNotFound, ConversationService, StagedUploadNotFound
from app.services.crypto import Cipher, token_hash
from app.services.realtime import ADMIN_TOPIC, Hub, MemoryBroker, Subscription, conversation_topic, visitor_topic
from app.services.uploads import CheckedFile


class Outbox:
    """What an outbox is told (the Telegram bridge's TelegramOutbox in the app)."""

    def __init__(self) -> None:
        self.queued: list[tuple[int, int]] = []
        self.kicks = 0

    async def enqueue(self, conversation_id: int, message_id: int) -> None:
        self.queued.append((conversation_id, message_id))

    def kick(self) -> None:
        self.kicks += 1


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def files_queued() -> list[int]:
    return []


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def service(database, hub: Hub, files_queued: list[int], outbox: Outbox) -> ConversationService:
    cipher = Cipher((Fernet.generate_key().decode(),))
    return ConversationService(
        database, cipher, MemoryBroker(hub), page_size=3, files_queued=lambda: files_queued.append(1), outbox=outbox
    )


async def start(service: ConversationService, name: str = "Ayşe") -> int:
    thread, _ = await service.start(name, "tr")
    return thread.id


def kinds(subscription: Subscription) -> list[str]:
    return [event.kind for event in subscription.pending]


def image_file(public_id: str = "pub-1", key: str = "key-1") -> StoredFile:
    checked = CheckedFile("image", "png", "image/png", b"\x89PNG fake", 4, 3, "a.png")
    return StoredFile(public_id=public_id, checked=checked, backend="local", storage_key=key)


async def test_start_stores_only_the_hash_of_the_visitor_token(service):
    thread, token = await service.start("Ayşe", "tr", source_url="https://shop.example/p")
    assert thread.display_name == "Ayşe" and thread.last_seq == 0 and not thread.ended
    assert thread.source_url == "https://shop.example/p"
    [row] = await Conversation.select(Conversation.visitor_token_hash)
    assert row["visitor_token_hash"] == token_hash(token) != token
    assert (await service.by_visitor_token(token)).id == thread.id
    assert await service.id_for_visitor_token(token) == thread.id
    assert await service.id_for_visitor_token("not-a-token") is None


async def test_posts_take_gap_free_numbers_and_are_encrypted_at_rest(service):
    conversation = await start(service)
    senders = ["visitor", "admin"] * 3
    seqs = [(await service.post(conversation, sender, f"m{i}")).seq for i, sender in enumerate(senders)]
    assert seqs == [1, 2, 3, 4, 5, 6]
    bodies = [row["body"] for row in await Message.select(Message.body).order_by(Message.seq)]
    assert all(body.startswith("gAAAA") and "m" not in body[:5] for body in bodies)
    thread = await service.get(conversation)
    assert (thread.last_seq, thread.last_sender, thread.preview) == (6, "admin", "m5")


async def test_only_visitor_messages_count_as_unread_until_marked_read(service, hub):
    first, second = await start(service, "A"), await start(service, "B")
    for text in ("one", "two"):
        await service.post(first, "visitor", text)
    await service.post(first, "admin", "answer")
    await service.post(second, "visitor", "hi")
    assert (await service.get(first)).unread_count == 2
    assert await service.total_unread() == 3
    admin = hub.subscribe([ADMIN_TOPIC])
    await service.mark_read(first)
    await service.mark_read(first)  # nothing changes: no second event
    assert (await service.get(first)).unread_count == 0 and await service.total_unread() == 1
    assert kinds(admin) == ["thread"]


async def test_read_marks_are_each_agents_own(service, hub):
    """SPEC §8: reading is per agent; a new visitor message counts for everyone; a read for everyone (a clear,
    a reply from Telegram) is read for each agent, and what comes after counts again from there."""
    first, second = await start(service, "A"), await start(service, "B")
    for text in ("one", "two"):
        await service.post(first, "visitor", text)
    await service.post(second, "visitor", "hi")

    async def unread(agent: str) -> dict[int, int]:
        threads, _ = await service.threads(reader=agent)
        return {t.id: t.unread_count for t in threads}

    assert await unread("ann") == await unread("bob") == {first: 2, second: 1}
    admin = hub.subscribe([ADMIN_TOPIC])
    await service.mark_read(first, "ann")
    await service.mark_read(first, "ann")  # nothing changes: no second event
    assert kinds(admin) == ["thread"]
    assert await unread("ann") == {first: 0, second: 1} and await service.total_unread("ann") == 1
    assert await unread("bob") == {first: 2, second: 1} and await service.total_unread("bob") == 3
    await service.post(first, "visitor", "three")
    await service.post(first, "admin", "an answer counts for nobody")
    assert (await unread("ann"))[first] == 1 and (await unread("bob"))[first] == 3
    await service.mark_read(first)  # for everyone
    assert (await unread("ann"))[first] == (await unread("bob"))[first] == 0
    await service.post(first, "visitor", "four")
    assert (await unread("ann"))[first] == (await unread("bob"))[first] == 1
    await service.clear(second)
    assert await service.total_unread("ann") == await service.total_unread("bob") == 1


async def test_unknown_sender_and_missing_conversation_are_refused(service):
    conversation = await start(service)
    with pytest.raises(ValueError):
        await service.post(conversation, "robot", "x")
    with pytest.raises(ConversationNotFound):
        await service.post(conversation + 99, "visitor", "x")
    with pytest.raises(ConversationNotFound):
        await service.clear(conversation + 99)


async def test_pages_run_oldest_first_and_say_whether_more_exist(service):
    conversation = await start(service)
    for i in range(1, 8):
        await service.post(conversation, "visitor", f"m{i}")
    newest, more = await service.page(conversation)
    assert [m.text for m in newest] == ["m5", "m6", "m7"] and more
    older, more = await service.page(conversation, before_seq=newest[0].seq)
    assert [m.text for m in older] == ["m2", "m3", "m4"] and more
    oldest, more = await service.page(conversation, before_seq=older[0].seq)
    assert [m.text for m in oldest] == ["m1"] and not more


async def test_catch_up_sends_what_follows_a_cursor_and_says_when_to_empty_first(service):
    conversation = await start(service)
    for text in ("a", "b", "c"):
        await service.post(conversation, "visitor", text)
    caught = await service.catch_up(conversation, after_seq=1)
    assert caught.exists and caught.cleared_seq == 0 and [m.text for m in caught.messages] == ["b", "c"]
    await service.clear(conversation)  # takes number 4
    await service.post(conversation, "admin", "d")
    caught = await service.catch_up(conversation, after_seq=3)
    assert caught.cleared_seq == 4 and [(m.seq, m.text) for m in caught.messages] == [(5, "d")]
    assert (await service.catch_up(conversation, after_seq=4)).cleared_seq == 0
    assert not (await service.catch_up(conversation + 99, after_seq=0)).exists


async def test_streams_are_woken_after_commit_with_the_message_itself(service, hub):
    conversation = await start(service)
    mine, other, admin = (
        hub.subscribe([conversation_topic(conversation)]),
        hub.subscribe([conversation_topic(conversation + 1)]),
        hub.subscribe([ADMIN_TOPIC]),
    )
    stored = await service.post(conversation, "visitor", "hello")
    [event] = mine.pending
    assert (event.kind, event.conversation_id, event.seq, event.sender) == ("msg", conversation, 1, "visitor")
    assert event.message == stored and event.at > 0
    assert kinds(admin) == ["msg"] and kinds(other) == []


async def test_a_failing_on_stored_stores_nothing_and_wakes_nobody(service, hub):
    conversation = await start(service)
    subscription = hub.subscribe([conversation_topic(conversation)])

    async def fail(message_id: int) -> None:
        raise RuntimeError("the other write failed")

    with pytest.raises(RuntimeError):
        await service.post(conversation, "visitor", "lost", on_stored=fail)
    assert await Message.count() == 0 and (await service.get(conversation)).last_seq == 0
    assert subscription.pending == []
    assert (await service.post(conversation, "visitor", "kept")).seq == 1


async def test_a_repeated_client_msg_id_returns_the_first_message(service):
    conversation, other = await start(service, "A"), await start(service, "B")
    first = await service.post(conversation, "visitor", "once", client_msg_id="c-1")
    again = await service.post(conversation, "visitor", "once more", client_msg_id="c-1")
    assert not first.replayed and again.replayed and (again.id, again.text) == (first.id, "once")
    assert (await service.post(other, "visitor", "elsewhere", client_msg_id="c-1")).seq == 1  # per conversation
    assert await Message.count() == 2  # one in each conversation
    assert (await service.get(conversation)).last_seq == 1


async def test_visitor_messages_go_to_the_outbox_in_the_same_transaction(service, outbox):
    conversation = await start(service)
    stored = await service.post(conversation, "visitor", "to telegram")
    await service.post(conversation, "admin", "not queued")
    assert outbox.queued == [(conversation, stored.id)] and outbox.kicks == 1


async def test_clear_deletes_messages_queues_their_files_and_takes_a_number(service, hub, files_queued):
    conversation = await start(service)
    await service.post(conversation, "visitor", "with a file", image_file())
    await service.post(conversation, "visitor", "text")
    subscription = hub.subscribe([conversation_topic(conversation)])
    await service.clear(conversation)
    thread = await service.get(conversation)
    assert (thread.last_seq, thread.cleared_seq, thread.unread_count, thread.preview) == (3, 3, 0, "")
    assert await Message.count() == 0 and await Attachment.count() == 0
    assert [(row["backend"], row["storage_key"]) for row in await FileDeletion.select()] == [("local", "key-1")]
    assert kinds(subscription) == ["clear"] and subscription.pending[0].seq == 3 and files_queued == [1]


async def test_an_image_message_shows_a_camera_in_the_preview(service):
    conversation = await start(service)
    stored = await service.post(conversation, "visitor", "look", image_file())
    assert stored.attachment.public_id == "pub-1" and stored.attachment.url == "/media/pub-1"
    assert (await service.get(conversation)).preview == "\U0001f4f7 look"
    [page], _ = await service.page(conversation)
    assert page.attachment == stored.attachment
    found = await service.attachment("pub-1")
    assert found[0] == conversation and found[2:] == ("local", "key-1")


async def test_a_staged_upload_is_claimed_once(service):
    conversation = await start(service)
    await service.stage(image_file("staged", "key-s"))
    stored = await service.post(conversation, "visitor", "", staged_id="staged")
    assert stored.attachment.public_id == "staged"
    with pytest.raises(StagedUploadNotFound):
        await service.post(conversation, "visitor", "", staged_id="staged")
    assert (await service.get(conversation)).last_seq == 1


async def test_clear_all_removes_every_conversation(service, hub):
    for name in ("A", "B"):
        await service.post(await start(service, name), "visitor", "x", image_file(f"p-{name}", f"k-{name}"))
    admin = hub.subscribe([ADMIN_TOPIC])
    assert await service.clear_all() == 2
    assert await Conversation.count() == 0 and await FileDeletion.count() == 2 and kinds(admin) == ["clear_all"]


async def test_ending_adds_a_system_message_and_a_visitor_writing_again_reopens(service):
    conversation = await start(service)
    await service.end(conversation, "chat.ended_by_support")
    thread = await service.get(conversation)
    assert thread.ended and thread.last_sender == "system"
    [note], _ = await service.page(conversation)
    assert (note.sender, note.text) == ("system", "chat.ended_by_support")
    assert [t.id for t in await service.open_threads()] == []
    await service.post(conversation, "visitor", "one more thing")
    assert not (await service.get(conversation)).ended
    assert [t.id for t in await service.open_threads()] == [conversation]


async def test_leaving_revokes_the_visitor_token_and_ends_their_streams(service, hub):
    thread, token = await service.start("Leaver", "en")
    streams = hub.subscribe([visitor_topic(thread.id)])
    await service.post(thread.id, "visitor", "bye")
    await service.leave(thread.id, "chat.visitor_left")
    assert await service.by_visitor_token(token) is None
    assert (await service.get(thread.id)).ended
    assert kinds(streams) == ["revoke"]
    [_, note], _ = await service.page(thread.id)
    assert note.text == "chat.visitor_left"


async def test_threads_are_listed_newest_activity_first(service):
    first, second = await start(service, "First"), await start(service, "Second")
    await service.post(first, "visitor", "latest")
    threads, next_page = await service.threads()
    assert [t.id for t in threads] == [first, second] and next_page is None
    assert threads[0].message_count == 1
