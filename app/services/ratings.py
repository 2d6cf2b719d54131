"""Resolutions and the visitor's rating of them (SPEC §10 CSAT). Each time a conversation becomes resolved a
`resolution` row is written in the status change's own transaction (who resolved it, when, the how-manieth); the
visitor may rate the conversation's latest resolution once, while it is still resolved: a score 1-5 and an optional
comment, encrypted like message text. Reopened and resolved again, the new resolution can be rated again.

Refusals carry the HTTP status the visitor's page or JSON answers with: 403 another visitor's conversation (or
none), 409 not resolved or already rated, 422 a score outside 1-5 or a comment too long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.clock import now
from app.models import Conversation, Rating, Resolution
from app.models.db import write_transaction
from app.services.crypto import Cipher
from app.services.text import TextError, clean_message

SCORES = (1, 2, 3, 4, 5)
COMMENT_MAX = 1000


class RatingRefused(ValueError):
    """Nothing stored. `code`: the i18n key after `error.`; `status`: 403, 409 or 422."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class RatingView:
    """A rating as the agent's conversation view and the visitor's thank-you show it."""

    resolution_number: int
    score: int
    comment: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RatingOffer:
    """What the visitor's page shows about the latest resolution: the form (`rated` None) or the thanks."""

    conversation_id: int
    resolution_number: int
    rated: RatingView | None


def _at(moment: float | None) -> datetime:
    return datetime.fromtimestamp(now() if moment is None else moment, UTC)


async def resolve(engine: Any, conversation_id: int, by: str | None, moment: float | None = None) -> bool:
    """Mark the conversation resolved and record the resolution, in one transaction. Already resolved: nothing new
    is recorded. False: no such conversation."""
    async with write_transaction(engine):
        changed = (
            await Conversation.update({Conversation.status: "resolved", Conversation.snoozed_until: None})
            .where((Conversation.id == conversation_id) & (Conversation.status != "resolved"))
            .returning(Conversation.id)
        )
        if not changed:
            return bool(await Conversation.exists().where(Conversation.id == conversation_id))
        number = await Resolution.count().where(Resolution.conversation == conversation_id) + 1
        row = Resolution(conversation=conversation_id, number=number, resolved_at=_at(moment), resolved_by=by or None)
        await Resolution.insert(row)
    return True


def parse_score(value: Any) -> int:
    """A score 1-5 from a form or JSON value; RatingRefused (`rating.score`, 422) otherwise."""
    try:
        score = int(str(value).strip())
    except ValueError:
        raise RatingRefused("rating.score", 422) from None
    if score not in SCORES:
        raise RatingRefused("rating.score", 422)
    return score


def clean_comment(value: str | None) -> str:
    """The comment, trimmed ("" for none); RatingRefused (`rating.comment_too_long`, 422) beyond 1000 characters."""
    try:
        cleaned = clean_message(value)
    except TextError as error:
        if error.code == "message_empty":
            return ""
        raise RatingRefused("rating.comment_too_long", 422) from None
    if len(cleaned) > COMMENT_MAX:
        raise RatingRefused("rating.comment_too_long", 422)
    return cleaned


class Ratings:
    """The visitor's rating: what the page offers, storing one, and what agents see."""

    def __init__(self, engine: Any, cipher: Cipher) -> None:
        self._engine = engine
        self._cipher = cipher

    async def _latest(self, conversation_id: int) -> dict[str, Any] | None:
        """The conversation's latest resolution while it is resolved; None otherwise."""
        status = await Conversation.select(Conversation.status).where(Conversation.id == conversation_id).first()
        if status is None or status["status"] != "resolved":
            return None
        return (
            await Resolution.select(Resolution.id, Resolution.number)
            .where(Resolution.conversation == conversation_id)
            .order_by(Resolution.id, ascending=False)
            .first()
        )

    def _view(self, row: dict[str, Any], number: int) -> RatingView:
        return RatingView(number, int(row["score"]), self._cipher.decrypt(row["comment"]), row["created_at"])

    async def offer(self, conversation_id: int) -> RatingOffer | None:
        """The rating part of the visitor's page: None while the conversation is not resolved."""
        latest = await self._latest(conversation_id)
        if latest is None:
            return None
        rated = await Rating.select().where(Rating.resolution == latest["id"]).first()
        view = self._view(rated, latest["number"]) if rated else None
        return RatingOffer(conversation_id, latest["number"], view)

    async def rate(
        self, visitor_conversation: int | None, posted_conversation: str | None, score: Any, comment: str | None
    ) -> RatingView:
        """Store the visitor's rating of their conversation's latest resolution. `visitor_conversation`: the
        conversation of the visitor's cookie; `posted_conversation`: the form's hidden field, when sent. Raises
        RatingRefused: `rating.not_yours` (403), `rating.not_resolved` / `rating.already` (409), `rating.score` /
        `rating.comment_too_long` (422)."""
        if visitor_conversation is None:
            raise RatingRefused("rating.not_yours", 403)
        if posted_conversation not in (None, "") and posted_conversation.strip() != str(visitor_conversation):
            raise RatingRefused("rating.not_yours", 403)
        chosen = parse_score(score)
        text = clean_comment(comment)
        async with write_transaction(self._engine):
            latest = await self._latest(visitor_conversation)
            if latest is None:
                raise RatingRefused("rating.not_resolved", 409)
            if await Rating.exists().where(Rating.resolution == latest["id"]):
                raise RatingRefused("rating.already", 409)
            row = Rating(
                conversation=visitor_conversation,
                resolution=latest["id"],
                score=chosen,
                comment=self._cipher.encrypt(text) if text else "",
                created_at=_at(None),
            )
            try:
                await Rating.insert(row)
            except Exception:  # the same resolution rated meanwhile in another tab (the unique index)
                raise RatingRefused("rating.already", 409) from None
        return RatingView(latest["number"], chosen, text, row.created_at)

    async def for_conversation(self, conversation_id: int) -> list[RatingView]:
        """Every rating of the conversation, oldest first (the agent's conversation view)."""
        numbers = {
            row["id"]: row["number"]
            for row in await Resolution.select(Resolution.id, Resolution.number).where(
                Resolution.conversation == conversation_id
            )
        }
        rows = await Rating.select().where(Rating.conversation == conversation_id).order_by(Rating.id)
        return [self._view(row, numbers.get(row["resolution"], 0)) for row in rows]
