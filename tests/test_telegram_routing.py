"""Routing an admin's Telegram reply (app/services/telegram/inbound.py) while the bot's message it answers is still
being delivered (app/services/telegram/outbox.py), in process, against the fake Bot API (tests/fakes/telegram).

The outbox stores the link "Telegram message -> conversation" when Telegram has answered the send, in the same
transaction that marks the row delivered. A reply can reach us before that commit. The processor must then wait for
the link; it may give up only once no delivery is in flight. The test below puts the delivery's commit at the worst
moment, deterministically: right after the processor has looked the link up and found nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from app.models import Message, TelegramUpdate
from tests.fakes.telegram import FakeTelegram
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


@pytest.fixture
def settings(tmp_path, fake):
    settings = migrated_settings(tmp_path, TELEGRAM_MODE="polling", TELEGRAM_TIMEOUT="5", **fake.env())
    yield settings
    drop_database(settings.database_url)


@contextmanager
def after_lookup(engine: Any, then: Callable[[], Awaitable[None]]) -> Iterator[list[asyncio.Task[Any]]]:
    """Runs `then` (once) right after the task put in the yielded list has read telegram_link and found nothing:
    a hook on the database engine's query runner (Piccolo's), which changes no result, only which task gets to
    commit first. The engine stays the same object (the tables and the open pool keep it)."""
    watched: list[asyncio.Task[Any]] = []
    fired: list[bool] = []
    original = type(engine)

    class Hooked(original):  # type: ignore[misc, valid-type]
        __slots__ = ()

        async def run_querystring(self, querystring: Any, *args: Any, **kwargs: Any) -> Any:
            result = await super().run_querystring(querystring, *args, **kwargs)
            sql = str(querystring).lower()
            mine = asyncio.current_task() in watched
            if mine and not fired and "telegram_link" in sql and "select" in sql and not result:
                fired.append(True)
                await then()
            return result

    engine.__class__ = Hooked
    try:
        yield watched
    finally:
        engine.__class__ = original
    assert fired, "the processor never looked the link up before the delivery was recorded"


async def test_a_reply_whose_delivery_commits_right_after_the_lookup_still_routes(settings, fake):
    async with running_services(settings) as services:
        bridge = services.telegram
        assert bridge is not None
        await bridge.client.start()
        try:
            thread, _ = await services.conversations.start("Racer", "en")
            await services.messaging.send(thread.id, "visitor", "Is anyone there?")
            # Telegram takes the message at once (the test sees its id) but its answer reaches us 1 s later.
            fake.answer_late(1, "sendMessage", seconds=1)
            delivery = asyncio.create_task(bridge.outbox.deliver_pending())
            for _ in range(200):
                if [c for c in fake.sent("sendMessage") if "Is anyone there?" in str(c.params.get("text"))]:
                    break
                await asyncio.sleep(0.02)
            sent = [c for c in fake.sent("sendMessage") if "Is anyone there?" in str(c.params.get("text"))]
            assert sent, "the question never reached the fake Bot API"
            update = fake.admin_message("Yes, here", reply_to=sent[0].result["message_id"], deliver=False)
            update["update_id"] = 987_654_321

            async def delivery_commits() -> None:
                await delivery

            with after_lookup(services.engine, delivery_commits) as watched:
                handling = asyncio.create_task(bridge.processor.handle(update))
                watched.append(handling)
                outcome = await asyncio.wait_for(handling, timeout=15)
            assert outcome == "posted"
            row = await TelegramUpdate.select(TelegramUpdate.outcome).where(TelegramUpdate.update_id == 987_654_321)
            assert row == [{"outcome": "posted"}]
            senders = await Message.select(Message.sender).where(Message.conversation == thread.id)
            assert [m["sender"] for m in senders] == ["visitor", "admin"]
        finally:
            await bridge.client.close()
