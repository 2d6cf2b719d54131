"""Which conversation a Telegram message or forum topic belongs to, kept in the database (never in memory), so
every server process routes the admin's replies the same way and a restart forgets nothing."""

from __future__ import annotations

from app.clock import now
from app.models import TelegramLink, TelegramTopic


async def link(chat_id: str, telegram_message_id: int, conversation_id: int) -> None:
    """Remember that this Telegram message belongs to the conversation (a message id is linked at most once)."""
    exists = await TelegramLink.exists().where(
        (TelegramLink.chat_id == chat_id) & (TelegramLink.telegram_message_id == telegram_message_id)
    )
    if not exists:
        await TelegramLink.insert(
            TelegramLink(
                chat_id=chat_id,
                telegram_message_id=telegram_message_id,
                conversation=conversation_id,
                created_at=now(),
            )
        )


async def conversation_of_message(chat_id: str, telegram_message_id: int) -> int | None:
    row = (
        await TelegramLink.select(TelegramLink.conversation)
        .where((TelegramLink.chat_id == chat_id) & (TelegramLink.telegram_message_id == telegram_message_id))
        .first()
    )
    return row["conversation"] if row else None


async def topic_of(conversation_id: int, chat_id: str) -> int | None:
    row = (
        await TelegramTopic.select(TelegramTopic.thread_id)
        .where((TelegramTopic.conversation == conversation_id) & (TelegramTopic.chat_id == chat_id))
        .first()
    )
    return row["thread_id"] if row else None


async def conversation_of_topic(chat_id: str, thread_id: int) -> int | None:
    row = (
        await TelegramTopic.select(TelegramTopic.conversation)
        .where((TelegramTopic.chat_id == chat_id) & (TelegramTopic.thread_id == thread_id))
        .first()
    )
    return row["conversation"] if row else None


async def save_topic(conversation_id: int, chat_id: str, thread_id: int) -> None:
    await TelegramTopic.delete().where(TelegramTopic.conversation == conversation_id)
    await TelegramTopic.insert(
        TelegramTopic(conversation=conversation_id, chat_id=chat_id, thread_id=thread_id, created_at=now())
    )


async def forget_topic(conversation_id: int) -> None:
    await TelegramTopic.delete().where(TelegramTopic.conversation == conversation_id)
