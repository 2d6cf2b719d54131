"""How updates reach us: long polling (`getUpdates`) or a webhook that Telegram calls.

- `Poller` (TELEGRAM_MODE=polling): a background task that long-polls and hands each update, in order, to the
  `UpdateProcessor`. With several server processes only the holder of the `telegram-poll` lease polls (the others
  wait and take over within one lease if it dies); two pollers would make Telegram answer 409 to each other.
  The offset comes from the database (the highest update handled + 1), so a new holder starts where the last
  left off and an update handled but not yet confirmed is recognised when it comes again.
- `WebhookRegistrar` (TELEGRAM_MODE=webhook): on start-up `setWebhook(PUBLIC_URL/telegram/webhook, secret_token)`,
  retried in the background until Telegram accepts it. The route itself lives in app/routes/telegram.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any

from app.clock import now
from app.models import TelegramUpdate
from app.services.background import BackgroundLoop
from app.services.lease import Lease
from app.services.telegram.client import TelegramClient, TelegramError
from app.services.telegram.inbound import UpdateProcessor

log = logging.getLogger("sohbet.telegram")

ALLOWED_UPDATES = ["message"]
GIVE_UP_AFTER = 3  # tries of one update that keeps raising before it is recorded as an error and skipped
MAX_BACKOFF = 30.0


class Poller(BackgroundLoop):
    mode = "polling"
    loop_name = "telegram-poller"

    def __init__(self, client: TelegramClient, processor: UpdateProcessor, *, poll_seconds: int) -> None:
        super().__init__()
        self._client = client
        self._processor = processor
        self._poll_seconds = poll_seconds
        self.lease = Lease("telegram-poll", seconds=poll_seconds + client.timeout + 20)
        self._failures: Counter[int] = Counter()
        self.polling = False  # this process holds the lease
        self.last_ok_at: float | None = None
        self.last_error: str = ""

    async def stop(self) -> None:
        await super().stop()
        if self.polling:  # hand over at once instead of after the lease runs out
            with contextlib.suppress(Exception):
                await self.lease.release()
            self.polling = False

    async def _offset(self) -> int | None:
        row = (
            await TelegramUpdate.select(TelegramUpdate.update_id)
            .order_by(TelegramUpdate.update_id, ascending=False)
            .first()
        )
        return row["update_id"] + 1 if row else None

    async def run_forever(self) -> None:
        backoff = 1.0
        webhook_cleared = False
        while True:
            try:
                if not await self.lease.acquire():
                    self.polling = False
                    await asyncio.sleep(min(self.lease.seconds / 4, 5.0))
                    continue
                self.polling = True
                if not webhook_cleared:  # getUpdates is refused while a webhook is set
                    await self._client.call("deleteWebhook")
                    webhook_cleared = True
                updates = await self._client.call(
                    "getUpdates",
                    offset=await self._offset(),
                    timeout=self._poll_seconds,
                    allowed_updates=ALLOWED_UPDATES,
                    http_timeout=self._poll_seconds + self._client.timeout,
                )
                self.last_ok_at, self.last_error = now(), ""
                for update in updates if isinstance(updates, list) else []:
                    await self._handle(update)
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, TelegramError):
                    if exc.error_code == 409:
                        webhook_cleared = False  # a webhook was set meanwhile, or another poller outside us runs
                    self.last_error = f"{exc.error_code or ''} {exc.description}".strip()[:200]
                else:  # the database is away
                    self.last_error = type(exc).__name__
                log.warning(json.dumps({"event": "telegram.poll_failed", "error": self.last_error[:100]}))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    async def _handle(self, update: Any) -> None:
        update_id = update.get("update_id") if isinstance(update, dict) else None
        try:
            outcome = await self._processor.handle(update)
            log.info(json.dumps({"event": "telegram.update", "update_id": update_id, "outcome": outcome}))
            if isinstance(update_id, int):
                self._failures.pop(update_id, None)
        except Exception as exc:
            if not isinstance(update_id, int):
                raise
            self._failures[update_id] += 1
            if self._failures[update_id] < GIVE_UP_AFTER or isinstance(exc, TelegramError):
                raise  # the batch stops here; the same update comes again on the next poll
            log.error(
                json.dumps({"event": "telegram.update_skipped", "update_id": update_id, "error": type(exc).__name__})
            )
            await self._processor.give_up(update_id)
            del self._failures[update_id]

    async def state(self) -> dict[str, Any]:
        holder = await self.lease.current_holder()
        return {
            "mode": self.mode,
            "poller": "this process" if holder == self.lease.holder else ("another process" if holder else "none"),
            "last_poll_seconds_ago": round(now() - self.last_ok_at, 1) if self.last_ok_at else None,
            "error": self.last_error,
        }


class WebhookRegistrar(BackgroundLoop):
    mode = "webhook"
    loop_name = "telegram-webhook"

    def __init__(self, client: TelegramClient, *, url: str, secret: str) -> None:
        super().__init__()
        self._client = client
        self.url = url
        self.secret = secret
        self.registered = False
        self.last_error = ""

    async def run_forever(self) -> None:
        """Registers the webhook, retrying with backoff until Telegram accepts it."""
        backoff = 1.0
        while True:
            try:
                await self._client.call(
                    "setWebhook", url=self.url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
                )
                self.registered, self.last_error = True, ""
                log.info(json.dumps({"event": "telegram.webhook_set"}))
                return
            except TelegramError as exc:
                self.last_error = f"{exc.error_code or ''} {exc.description}".strip()[:200]
                log.warning(json.dumps({"event": "telegram.webhook_failed", "error": self.last_error[:100]}))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def state(self) -> dict[str, Any]:
        return {"mode": self.mode, "webhook": "set" if self.registered else "not set", "error": self.last_error}
