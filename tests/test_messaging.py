"""MessageSender (app/services/messaging.py), the one way a message is sent, called in-process: text, files,
idempotent repeats, the file left behind by a failed or repeated post, and every refusal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.models import Message
from app.services.attachments import AttachmentService
from app.services.authors import last_writer, writer_before
from app.services.conversations import ConversationNotFound, ConversationService
from app.services.crypto import Cipher
from app.services.messaging import MessageSender, SendRefused, Staged
from app.services.realtime import Hub, MemoryBroker
from app.services.storage import LocalStorage
from app.services.store import SlidingWindowLimiter, SweepingMemoryStore
from app.services.text import MESSAGE_MAX
from tests import media_files
from tests.inprocess import fresh_database

UPLOADS_PER_MINUTE = 3


@dataclass
class FakeUpload:
    """A file as a form brings it: a name and bytes, read when the sender asks (after `gate`, if given)."""

    data: bytes
    filename: str = "photo.png"
    gate: asyncio.Event | None = None
    reads: list[int] = field(default_factory=list)

    async def read(self) -> bytes:
        self.reads.append(len(self.data))
        if self.gate is not None:
            await self.gate.wait()
        return self.data


@dataclass
class World:
    sender: MessageSender
    conversations: ConversationService
    upload_dir: Path

    def files(self) -> set[str]:
        return (
            {p.name for p in self.upload_dir.iterdir() if not p.name.startswith(".")}
            if self.upload_dir.exists()
            else set()
        )

    async def new_conversation(self) -> int:
        thread, _ = await self.conversations.start("Ayşe", "en")
        return thread.id


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("messaging")
    async with fresh_database(tmp) as engine:
        conversations = ConversationService(engine, Cipher((Fernet.generate_key().decode(),)), MemoryBroker(Hub()))
        upload_dir = tmp / "uploads"
        attachments = AttachmentService(
            LocalStorage(upload_dir), max_image_bytes=2_000_000, max_audio_bytes=2_000_000, max_pixels=4096 * 4096
        )
        limiter = SlidingWindowLimiter(SweepingMemoryStore(), UPLOADS_PER_MINUTE, 60)
        yield World(MessageSender(conversations, attachments, limiter), conversations, upload_dir)


async def stored_count(conversation_id: int) -> int:
    return await Message.count().where(Message.conversation == conversation_id)


async def test_text(world: World) -> None:
    conversation = await world.new_conversation()
    message = await world.sender.send(conversation, "visitor", "  hello\n\n\n\nthere \x07 ", limiter_key="v:text")
    assert (message.text, message.sender, message.attachment, message.replayed) == (
        "hello\n\nthere",
        "visitor",
        None,
        False,
    )
    assert await stored_count(conversation) == 1


async def test_file_with_or_without_text(world: World) -> None:
    conversation = await world.new_conversation()
    before = world.files()
    photo = await world.sender.send(
        conversation, "admin", "   ", upload=FakeUpload(media_files.image("PNG")), limiter_key="a:file"
    )
    assert photo.attachment is not None and photo.attachment.kind == "image" and photo.text == ""
    voice = await world.sender.send(
        conversation, "visitor", "listen", upload=FakeUpload(media_files.ogg_opus(), "memo.ogg"), limiter_key="v:file"
    )
    assert voice.attachment is not None and voice.attachment.kind == "audio" and voice.text == "listen"
    assert len(world.files() - before) == 2
    assert await stored_count(conversation) == 2


async def test_a_repeat_stores_nothing_and_reads_no_file(world: World) -> None:
    conversation = await world.new_conversation()
    first = await world.sender.send(
        conversation, "visitor", "once", upload=FakeUpload(media_files.image("PNG")), client_msg_id="repeat-0001"
    )
    files = world.files()
    again = FakeUpload(media_files.image("PNG"))
    repeat = await world.sender.send(conversation, "visitor", "once", upload=again, client_msg_id="repeat-0001")
    assert repeat.replayed and repeat.id == first.id
    assert again.reads == []  # answered from the stored message: the file was never even read
    assert world.files() == files
    assert await stored_count(conversation) == 1


async def test_a_racing_copy_has_its_file_deleted(world: World) -> None:
    """Two copies of one post: the second passes the repeat check, stores its file, then loses the post to the
    first. Its file belongs to no message and goes."""
    conversation = await world.new_conversation()
    gate = asyncio.Event()
    before = world.files()
    blocked = FakeUpload(media_files.image("PNG"), gate=gate)
    late = asyncio.create_task(
        world.sender.send(conversation, "visitor", "twice", upload=blocked, client_msg_id="race-0001")
    )
    while not blocked.reads:  # past the repeat check, reading its file
        await asyncio.sleep(0.01)
    first = await world.sender.send(
        conversation, "visitor", "twice", upload=FakeUpload(media_files.image("PNG")), client_msg_id="race-0001"
    )
    gate.set()
    second = await late
    assert not first.replayed and second.replayed and second.id == first.id
    assert await stored_count(conversation) == 1
    assert len(world.files() - before) == 1  # only the first copy's file is kept


async def test_the_writer_before_is_read_again_when_a_message_came_in_between(world: World) -> None:
    """The previous writer (bubble grouping) is read before the row lock; a message stored in between is seen."""
    conversation = await world.new_conversation()
    await world.sender.send(conversation, "visitor", "one")
    stale = await last_writer(conversation)
    assert stale == (1, ("visitor", ""))
    await world.sender.send(conversation, "admin", "two", author="owner")
    assert await writer_before(conversation, 2, stale) == ("visitor", "")
    assert await writer_before(conversation, 3, stale) == ("admin", "owner")
    assert await writer_before(conversation, 1, None) is None


async def test_group_starts_stay_right_when_writers_race(world: World) -> None:
    """Visitor and agents writing at once: each message's group start, as sent live, is what a page shows later."""
    conversation = await world.new_conversation()
    writers = [("visitor", None), ("admin", "owner"), ("admin", "ayse")] * 8
    sent = await asyncio.gather(
        *(world.sender.send(conversation, s, f"m{i}", author=a) for i, (s, a) in enumerate(writers))
    )
    shown, _ = await world.conversations.page(conversation, limit=100)
    assert {m.seq: m.new_author for m in sent} == {m.seq: m.new_author for m in shown}


async def test_the_file_is_deleted_when_the_post_fails(world: World) -> None:
    before = world.files()
    with pytest.raises(ConversationNotFound):
        await world.sender.send(2**31 - 1, "admin", "", upload=FakeUpload(media_files.image("PNG")))
    assert world.files() == before


@pytest.mark.parametrize(
    ("text", "with_file", "client_msg_id", "code"),
    [
        ("x" * (MESSAGE_MAX + 1), False, None, "message_too_long"),
        ("x" * (MESSAGE_MAX + 1), True, None, "message_too_long"),
        (" \n\t \u200b", False, None, "message_empty"),  # a file may come without text; nothing at all may not
        ("hello", True, "short", "bad_client_msg_id"),
        ("hello", False, "no spaces allowed", "bad_client_msg_id"),
    ],
)
async def test_refused_text(world: World, text: str, with_file: bool, client_msg_id: str | None, code: str) -> None:
    conversation = await world.new_conversation()
    upload = FakeUpload(media_files.image("PNG")) if with_file else None
    with pytest.raises(SendRefused) as refused:
        await world.sender.send(conversation, "visitor", text, upload=upload, client_msg_id=client_msg_id)
    assert (refused.value.status, refused.value.code) == (422, code)
    assert upload is None or upload.reads == []  # refused before the file is read
    assert await stored_count(conversation) == 0


async def test_the_upload_rate_limit(world: World) -> None:
    conversation = await world.new_conversation()
    for _ in range(UPLOADS_PER_MINUTE):
        await world.sender.send(
            conversation, "visitor", "", upload=FakeUpload(media_files.image("PNG")), limiter_key="v:rl"
        )
    files = world.files()
    refused_upload = FakeUpload(media_files.image("PNG"))
    with pytest.raises(SendRefused) as refused:
        await world.sender.send(conversation, "visitor", "", upload=refused_upload, limiter_key="v:rl")
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused_upload.reads == [] and world.files() == files
    # Text alone is not an upload; another key has its own count.
    await world.sender.send(conversation, "visitor", "still here", limiter_key="v:rl")
    await world.sender.send(
        conversation, "visitor", "", upload=FakeUpload(media_files.image("PNG")), limiter_key="v:other"
    )
    assert await stored_count(conversation) == UPLOADS_PER_MINUTE + 2


async def test_a_rejected_upload(world: World, caplog: pytest.LogCaptureFixture) -> None:
    conversation = await world.new_conversation()
    before = world.files()
    with caplog.at_level(logging.INFO, logger="sohbet.composer"), pytest.raises(SendRefused) as refused:
        await world.sender.send(conversation, "visitor", "see", upload=FakeUpload(b"MZ\x90\x00 not a picture", "x.exe"))
    assert (refused.value.status, refused.value.code) == (415, "upload.type")
    assert any(
        '"event": "upload.refused"' in r.getMessage() and '"upload.type"' in r.getMessage() for r in caplog.records
    )
    assert world.files() == before
    assert await stored_count(conversation) == 0


async def test_a_staged_file(world: World) -> None:
    """The JSON API's way: a file staged first (with its own rate limit and type check), then sent by its id."""
    conversation = await world.new_conversation()
    with pytest.raises(SendRefused) as wrong_kind:
        await world.sender.stage(FakeUpload(media_files.image("PNG")), "audio", limiter_key="a:stage")
    assert (wrong_kind.value.status, wrong_kind.value.code) == (415, "upload.type")
    view = await world.sender.stage(FakeUpload(media_files.image("PNG")), "image", limiter_key="a:stage")
    sent = await world.sender.send(conversation, "admin", "", staged=Staged(view.public_id, "image"))
    assert sent.attachment is not None and sent.attachment.public_id == view.public_id
    for staged, code in [
        (Staged(view.public_id, "image"), "staged_unusable"),  # already sent
        (Staged("no-such-upload", "image"), "staged_unusable"),
        (Staged(None, "audio"), "staged_required"),
    ]:
        with pytest.raises(SendRefused) as refused:
            await world.sender.send(conversation, "admin", "", staged=staged)
        assert (refused.value.status, refused.value.code) == (422, code)
    assert await stored_count(conversation) == 1
