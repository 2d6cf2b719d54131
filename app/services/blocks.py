"""Blocking visitors (SPEC §11): an agent blocks a conversation's visitor (their token and the address they started
from) with a reason and a duration; owners also block addresses and ranges (CIDR) on /admin/blocks. A blocked
visitor's requests are refused before they reach a route (app/web/blocking.py), so nothing of theirs reaches
agents, Telegram or mail. Every process keeps the active blocks in memory (the check runs on each visitor request
and must cost no query) and reloads them when a block changes anywhere (a `settings` event with subject `blocks`),
on a broker resync, or after a minute."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from piccolo.engine.base import Engine

from app.models import Conversation, VisitorAddress, VisitorBlock
from app.models.db import write_transaction
from app.services import audit
from app.services.background import BackgroundLoop
from app.services.crypto import Cipher
from app.services.realtime import SETTINGS_TOPIC, Broker, Event, Hub, publish_now, revocation, visitor_topic
from app.services.text import clean_display_name

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DURATION = re.compile(r"(\d{1,3})([hdw])")
UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 604800}
MAX_SECONDS = 366 * 86400
REASON_MAX = 200
RELOAD_SECONDS = 60.0


class BlockRefused(ValueError):
    """A block that cannot be made; `code` keys the message (block_duration, block_network, block_unknown)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class BlockView:
    id: int
    kind: str  # visitor | ip | cidr
    value: str  # the token's hash (visitor) or the address / range
    conversation: int | None
    reason: str
    created_by: str
    created_at: float
    expires_at: float | None

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, UTC)

    @property
    def expires(self) -> datetime | None:
        return datetime.fromtimestamp(self.expires_at, UTC) if self.expires_at else None


def parse_duration(value: str | None, moment: float) -> float | None:
    """When a block ends: `forever` (or empty) is None; `12h`, `7d`, `4w` up to a year from `moment`."""
    text = (value or "").strip().lower()
    if text in ("", "forever"):
        return None
    match = DURATION.fullmatch(text)
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)] if match else 0
    if not 0 < seconds <= MAX_SECONDS:
        raise BlockRefused("block_duration")
    return moment + seconds


def parse_network(value: str | None) -> tuple[str, Network]:
    """An address or a CIDR range, as (kind, network); a single address is a /32 or /128."""
    text = (value or "").strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise BlockRefused("block_network") from None
    single = network.num_addresses == 1
    return ("ip" if single else "cidr"), network


class Blocks(BackgroundLoop):
    """The active blocks of this process (`refuses`), and the one way to change them."""

    loop_name = "blocks"
    round_failed_event = "blocks.reload_failed"
    IDLE_SECONDS = RELOAD_SECONDS

    def __init__(
        self, engine: Engine, cipher: Cipher, broker: Broker, hub: Hub, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self._engine = engine
        self._cipher = cipher
        self._broker = broker
        self._hub = hub
        self._clock = clock
        self._tokens: dict[str, float | None] = {}
        self._networks: list[tuple[Network, float | None]] = []

    # -- the check on every visitor request ------------------------------------------------------------

    @property
    def any(self) -> bool:
        return bool(self._tokens or self._networks)

    def refuses(self, token_hash: str | None, ip: str) -> bool:
        """Whether a request with this visitor token (its hash) from this address is blocked now."""
        now = self._clock()
        if token_hash is not None and token_hash in self._tokens:
            until = self._tokens[token_hash]
            if until is None or until > now:
                return True
        if not self._networks:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any((until is None or until > now) and address in net for net, until in self._networks)

    # -- the cache -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._hub.watch(SETTINGS_TOPIC, lambda event: self.kick() if event.subject in ("blocks", "") else None)
        await self.load()
        await super().start()

    async def one_round(self) -> float:
        await self.load()
        return RELOAD_SECONDS

    async def load(self) -> None:
        now = self._clock()
        tokens: dict[str, float | None] = {}
        networks: list[tuple[Network, float | None]] = []
        for block in await self.active(now):
            if block.kind == "visitor":
                tokens[block.value] = block.expires_at
            else:
                networks.append((ipaddress.ip_network(block.value, strict=False), block.expires_at))
        self._tokens, self._networks = tokens, networks

    async def _changed(self) -> None:
        await publish_now(self._broker, [Event("settings", subject="blocks")])
        await self.load()

    # -- reading ---------------------------------------------------------------------------------------

    async def active(self, now: float | None = None) -> list[BlockView]:
        moment = self._clock() if now is None else now
        rows = await (
            VisitorBlock.select()
            .where(VisitorBlock.expires_at.is_null() | (VisitorBlock.expires_at > moment))
            .order_by(VisitorBlock.id, ascending=False)
        )
        return [BlockView(**{k: row[k] for k in BlockView.__slots__}) for row in rows]

    async def for_conversation(self, conversation_id: int) -> list[BlockView]:
        return [b for b in await self.active() if b.conversation == conversation_id]

    # -- changing --------------------------------------------------------------------------------------

    async def remember_address(self, conversation_id: int, ip: str) -> None:
        """The address a conversation was started from (encrypted): what blocking it blocks too."""
        await VisitorAddress.insert(VisitorAddress(conversation=conversation_id, ip=self._cipher.encrypt(ip)))

    async def block_conversation(
        self, conversation_id: int, reason: str | None, duration: str | None, *, actor: str, ip: str = ""
    ) -> list[BlockView]:
        """Block the conversation's visitor: their token (and a resume link's) and the address they started from.
        Their open streams end. BlockRefused for a bad duration or an unknown conversation."""
        moment = self._clock()
        until = parse_duration(duration, moment)
        text = clean_display_name((reason or "")[: REASON_MAX * 2])[:REASON_MAX] if reason else ""
        row = await (
            Conversation.select(Conversation.visitor_token_hash, Conversation.resume_token_hash)
            .where(Conversation.id == conversation_id)
            .first()
        )
        if row is None:
            raise BlockRefused("block_unknown")
        values = [("visitor", row["visitor_token_hash"])]
        if row["resume_token_hash"]:
            values.append(("visitor", row["resume_token_hash"]))
        address = (
            await VisitorAddress.select(VisitorAddress.ip).where(VisitorAddress.conversation == conversation_id).first()
        )
        if address is not None:
            values.append(("ip", str(ipaddress.ip_network(self._cipher.decrypt(address["ip"]), strict=False))))
        async with write_transaction(self._engine):
            for kind, value in values:
                await self._insert(kind, value, conversation_id, text, actor, moment, until)
            await audit.record(
                "visitor.blocked",
                f"conversation:{conversation_id}",
                actor=actor,
                ip=ip,
                until=until,
                by_address=address is not None,
            )
        await publish_now(self._broker, [revocation(visitor_topic(conversation_id))])
        await self._changed()
        return await self.for_conversation(conversation_id)

    async def block_network(
        self, network: str | None, reason: str | None, duration: str | None, *, actor: str, ip: str = ""
    ) -> BlockView:
        """Block an address or a range (owners, /admin/blocks)."""
        moment = self._clock()
        kind, parsed = parse_network(network)
        until = parse_duration(duration, moment)
        text = clean_display_name(reason or "")[:REASON_MAX] if reason else ""
        async with write_transaction(self._engine):
            block_id = await self._insert(kind, str(parsed), None, text, actor, moment, until)
            await audit.record("visitor.blocked", f"{kind}:{parsed}", actor=actor, ip=ip, until=until)
        await self._changed()
        return next(b for b in await self.active() if b.id == block_id)

    async def unblock(self, block_id: int, *, actor: str, ip: str = "") -> None:
        async with write_transaction(self._engine):
            gone = await VisitorBlock.delete().where(VisitorBlock.id == block_id).returning(VisitorBlock.kind)
            if not gone:
                raise BlockRefused("block_unknown")
            await audit.record("visitor.unblocked", f"block:{block_id}", actor=actor, ip=ip)
        await self._changed()

    async def unblock_conversation(self, conversation_id: int, *, actor: str, ip: str = "") -> None:
        async with write_transaction(self._engine):
            await VisitorBlock.delete().where(VisitorBlock.conversation == conversation_id)
            await audit.record("visitor.unblocked", f"conversation:{conversation_id}", actor=actor, ip=ip)
        await self._changed()

    async def _insert(
        self,
        kind: str,
        value: str,
        conversation: int | None,
        reason: str,
        actor: str,
        moment: float,
        until: float | None,
    ) -> int:
        rows = await VisitorBlock.insert(
            VisitorBlock(
                kind=kind,
                value=value,
                conversation=conversation,
                reason=reason,
                created_by=actor[:40],
                created_at=moment,
                expires_at=until,
            )
        ).returning(VisitorBlock.id)
        return int(rows[0]["id"])
