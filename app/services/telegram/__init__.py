"""The Telegram bridge: login codes, every visitor message in the admin's Telegram chat, and the admin's replies,
files and commands back into Sohbet.

- `client`: the Bot API over one shared httpx client; login codes.
- `outbox`: visitor messages out, in order, once, with retries (and forum topics).
- `mapping`: which conversation a Telegram message or topic belongs to (in the database).
- `inbound`: updates in: routing, files, commands, each update once.
- `accounts`: each agent's own Telegram account: linking it with `/start <token>`, who a Telegram user is.
- `commands`: the team's commands in the admin chat (/assign, /resolve, /snooze).
- `receiver`: long polling (one process at a time) or the webhook registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.clock import now
from app.services.attachments import AttachmentService
from app.services.conversations import ConversationService
from app.services.messaging import MessageSender
from app.services.presence import PresenceTracker
from app.services.status import Triage
from app.services.telegram.accounts import TelegramAccounts
from app.services.telegram.client import TelegramClient, TelegramCodeSender, TelegramError
from app.services.telegram.inbound import UpdateProcessor
from app.services.telegram.outbox import TelegramOutbox
from app.services.telegram.receiver import Poller, WebhookRegistrar

if TYPE_CHECKING:
    from app.settings import Settings

__all__ = [
    "Poller",
    "TelegramAccounts",
    "TelegramBridge",
    "TelegramClient",
    "TelegramCodeSender",
    "TelegramError",
    "TelegramOutbox",
    "UpdateProcessor",
    "WebhookRegistrar",
    "make_bridge",
]


@dataclass
class TelegramBridge:
    client: TelegramClient
    outbox: TelegramOutbox
    processor: UpdateProcessor
    receiver: Poller | WebhookRegistrar

    @property
    def mode(self) -> str:
        return self.receiver.mode

    async def start(self) -> None:
        await self.client.start()
        await self.outbox.start()
        await self.receiver.start()

    async def stop(self) -> None:
        await self.receiver.stop()
        await self.outbox.stop()
        await self.client.close()

    async def health(self) -> dict[str, Any]:
        """The outbox backlog and how updates arrive; "backlog" while deliveries fail."""
        backlog = await self.outbox.backlog()
        receiving = await self.receiver.state()
        last = self.processor.last_update_at
        status = "backlog" if backlog["failing"] else ("error" if receiving.get("error") else "ok")
        return {
            "status": status,
            **backlog,
            **receiving,
            "last_update_seconds_ago": None if last is None else round(now() - last, 1),
        }


def make_bridge(
    settings: Settings,
    client: TelegramClient,
    outbox: TelegramOutbox,
    *,
    conversations: ConversationService,
    attachments: AttachmentService,
    presence: PresenceTracker,
    messaging: MessageSender,
    accounts: TelegramAccounts,
    triage: Triage,
) -> TelegramBridge:
    processor = UpdateProcessor(
        client,
        chat_id=settings.telegram_chat_id,
        public_url=settings.public_url,
        conversations=conversations,
        attachments=attachments,
        presence=presence,
        messaging=messaging,
        is_forum=outbox.is_forum,
        accounts=accounts,
        triage=triage,
    )
    receiver: Poller | WebhookRegistrar
    if settings.telegram_mode == "webhook":
        receiver = WebhookRegistrar(
            client, url=f"{settings.public_url}/telegram/webhook", secret=settings.telegram_webhook_secret
        )
    else:
        receiver = Poller(client, processor, poll_seconds=settings.telegram_poll_seconds)
    return TelegramBridge(client, outbox, processor, receiver)
