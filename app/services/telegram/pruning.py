"""Old Telegram bookkeeping goes: `telegram_update` rows (each update handled, for recognising a repeat) and
delivered `telegram_outbox` rows, once older than `KEEP_SECONDS` (30 days — Telegram re-sends an update for at
most a day). The newest update row always stays: the poller's offset is its `update_id` + 1.

Run by the housekeeping task of every server process (app/services/housekeeping.py) and by `sohbet cleanup`.
"""

from __future__ import annotations

from app.models import TelegramOutbox, TelegramUpdate

KEEP_SECONDS = 30 * 86400  # the same as `sohbet cleanup` (app.ops.cleanup.TELEGRAM_KEEP_SECONDS)


async def prune(cutoff: float) -> dict[str, int]:
    """Delete what was handled or delivered before `cutoff` (epoch seconds); returns how many rows of each kind.
    Call it inside a write transaction when the counts must match what went (a dry run rolls it back)."""
    done = {"telegram_updates": 0, "telegram_outbox": 0}
    newest = await (
        TelegramUpdate.select(TelegramUpdate.update_id).order_by(TelegramUpdate.update_id, ascending=False).first()
    )
    if newest is not None:
        old = (TelegramUpdate.processed_at < cutoff) & (TelegramUpdate.update_id < newest["update_id"])
        done["telegram_updates"] = len(await TelegramUpdate.delete().where(old).returning(TelegramUpdate.id))
    delivered = (TelegramOutbox.delivered == True) & (  # noqa: E712
        (TelegramOutbox.delivered_at < cutoff)
        | (TelegramOutbox.delivered_at.is_null() & (TelegramOutbox.created_at < cutoff))
    )
    done["telegram_outbox"] = len(await TelegramOutbox.delete().where(delivered).returning(TelegramOutbox.id))
    return done
