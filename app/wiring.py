"""One place that wires the app: every service and background worker, built from the settings.

`build_services(settings)` only builds objects: it opens no connection, starts nothing and changes no
process-wide state (logging, Piccolo's table bindings), so it can run twice in one process. What needs a
running event loop or a connection happens in the workers' `start()`, which `run_workers` calls in order —
the database first — and undoes in reverse. The web app (app/__init__.py's `create_app`) runs them in its
lifespan; a command uses `open_services`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from jinja2 import Environment
from litestar.stores.base import Store
from litestar.stores.registry import StoreRegistry

from app.assets import Asset, asset_urls, build_assets
from app.models import Conversation
from app.models.db import bind_tables, close_engine, make_engine, open_engine
from app.services.agents import AgentService
from app.services.attachments import AttachmentService
from app.services.auth import AuthService, ConsoleCodeSender, hash_password
from app.services.away import AwayMode, AwaySettings
from app.services.background import BackgroundWorker
from app.services.blocks import Blocks
from app.services.branding import Brand
from app.services.conversations import ConversationService
from app.services.crypto import Cipher, Signer
from app.services.downloads import Downloads
from app.services.erasure import Erasure
from app.services.exports import Exports
from app.services.health import Health
from app.services.housekeeping import Housekeeping
from app.services.mail import MailOutbox, SmtpSender
from app.services.messaging import MessageSender
from app.services.metrics import Metrics
from app.services.presence import PresenceTracker
from app.services.ratings import Ratings
from app.services.realtime import Broker, Hub, MemoryBroker, PostgresBroker
from app.services.receipts import Receipts
from app.services.replies import MailSettings, ReplyMailer
from app.services.reports import Reports
from app.services.retention import Retention
from app.services.search import Search, index_key
from app.services.start_guard import StartGuard
from app.services.status import SnoozeAlarm, Triage
from app.services.storage import LocalStorage, Storage, make_storage
from app.services.store import DatabaseStore, SlidingWindowLimiter, SweepingMemoryStore
from app.services.streams import Fragments, StreamServices
from app.services.telegram import (
    TelegramAccounts,
    TelegramBridge,
    TelegramClient,
    TelegramCodeSender,
    TelegramOutbox,
    make_bridge,
)
from app.services.transcript_mail import TranscriptMailer
from app.services.transcripts import Transcripts
from app.services.typing import Typing
from app.services.visitor_email import VisitorEmails
from app.services.visitor_page import VisitorPages
from app.services.workspace import Workspace
from app.settings import RATE_UNITS, Settings, login_code_channel
from app.templating import make_jinja
from app.version import VERSION


class Database:
    """The database engine as a worker: started first, stopped last. Starting it points Piccolo's tables at this
    engine (process-wide, so it happens here and not when the engine is made) and opens its connections."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def start(self) -> None:
        bind_tables(self.engine)
        await open_engine(self.engine)

    async def stop(self) -> None:
        await close_engine(self.engine)


@dataclass(kw_only=True)
class Services:
    """Everything a request handler or a command may need, built once by `build_services`."""

    settings: Settings
    engine: Any
    database: Database
    hub: Hub
    broker: Broker
    presence: PresenceTracker
    conversations: ConversationService
    triage: Triage  # conversation status and assignment (SPEC §8)
    ratings: Ratings  # resolutions and the visitor's rating of them (SPEC §10)
    reports: Reports  # the numbers of /admin/reports (SPEC §10)
    snoozes: SnoozeAlarm  # announces ended snoozes (the live lists)
    auth: AuthService
    agents: AgentService  # the team: invites, roles, disabling, each agent's own settings
    telegram_accounts: TelegramAccounts  # each agent's own Telegram account (linking; who wrote from Telegram)
    visitor_signer: Signer
    jinja: Environment
    assets: dict[str, Asset]
    attachments: AttachmentService
    local_storage: LocalStorage
    stores: StoreRegistry  # rate-limit counts, by limit name (`rl-…`)
    upload_limiter: SlidingWindowLimiter
    messaging: MessageSender  # sending a message, whoever sends it (visitor, dashboard, JSON API, Telegram)
    retention: Retention
    housekeeping: Housekeeping
    health: Health  # what /health/ready and /health report
    downloads: Downloads  # who may download an attachment, and from where
    streams: StreamServices  # what the live streams read and follow
    visitor_pages: VisitorPages  # the visitor's side: its conversation, starting one, the page
    exports: Exports  # a visitor's own data as a zip (SPEC §11)
    erasure: Erasure  # deleting a conversation for good (the visitor's request, an owner's erasure by email)
    blocks: Blocks  # blocked visitors, addresses and ranges (checked by app/web/blocking.py)
    transcripts: Transcripts  # a conversation as text or a printable page (visitor, ended page, agents)
    search: Search  # the blind-index search over messages, names and emails (agents)
    metrics: Metrics
    brand: Brand  # workspace branding and embedding sites, live (app/services/branding.py)
    away: AwayMode  # business hours and away mode, live (app/services/away.py)
    mail: MailOutbox  # mail to visitors: `queue` inside the causing transaction; sent only when SMTP_URL is set
    replies: ReplyMailer  # replies by email, the resume and unsubscribe links (runs only when SMTP_URL is set)
    transcript_mail: TranscriptMailer  # the visitor's transcript by email (through `mail`)
    typing: Typing  # typing indicators (live only, throttled)
    receipts: Receipts  # read receipts: what each side has seen
    telegram: TelegramBridge | None = None  # set when TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are
    # Everything with a start() and a stop(), in the order they start (they stop in reverse).
    workers: list[BackgroundWorker] = field(default_factory=list)


def build_services(settings: Settings) -> Services:
    """Every service and background worker for `settings`, none of them started (see the module docstring)."""
    engine = make_engine(settings.database_url)
    hub = Hub()
    metrics = Metrics(VERSION)  # this process's counters (GET /metrics); services record into it
    broker: Broker
    if settings.is_postgres:
        broker = PostgresBroker(hub, settings.database_url, lambda sql, *args: Conversation.raw(sql, *args))
    else:
        broker = MemoryBroker(hub)
    presence = PresenceTracker(broker, settings.presence_heartbeat_seconds)
    assets = build_assets()
    jinja = make_jinja()
    jinja.globals["assets"] = asset_urls(assets)
    jinja.globals["typing_preview"] = settings.typing_preview  # the visitor's composer sends its draft (later.js)
    storage = make_storage(settings)
    # Local files stay servable by /media/ even when new ones go to Cloudinary.
    local_storage = storage if isinstance(storage, LocalStorage) else LocalStorage(settings.upload_dir)
    attachments = AttachmentService(
        storage,
        max_image_bytes=settings.max_image_bytes,
        max_audio_bytes=settings.max_audio_bytes,
        max_pixels=settings.max_image_pixels,
        retry_seconds=settings.file_delete_retry_seconds,
    )
    cipher = Cipher(settings.encryption_keys, index_key=index_key(settings.secret_key))
    telegram_client: TelegramClient | None = None
    telegram_outbox: TelegramOutbox | None = None
    channel = login_code_channel(settings)
    code_sender: Any = ConsoleCodeSender(enabled=channel == "console")
    if channel == "telegram":
        telegram_client = TelegramClient(
            settings.telegram_api_base,
            settings.telegram_bot_token,
            timeout=settings.telegram_timeout_seconds,
            on_call=metrics.telegram_call,
        )
        telegram_outbox = TelegramOutbox(
            engine,
            telegram_client,
            cipher,
            chat_id=settings.telegram_chat_id,
            public_url=settings.public_url,
            retry_seconds=settings.telegram_retry_seconds,
            file_source=_file_bytes(storage, local_storage),
        )
        code_sender = TelegramCodeSender(telegram_client, settings.telegram_chat_id, settings.login_code_seconds)
    triage = Triage(engine, broker, presence, settings.assignment)
    conversations = ConversationService(
        engine,
        cipher,
        broker,
        settings.page_size,
        file_url=_file_url(storage),
        files_queued=attachments.kick,
        outbox=telegram_outbox,
        metrics=metrics,
        assignee_for_new=triage.assignee_for_new,
    )
    stores = StoreRegistry(default_factory=rate_limit_store(settings))
    uploads = settings.rate_limit_uploads
    upload_limiter = SlidingWindowLimiter(stores.get("rl-uploads"), uploads.count, RATE_UNITS[uploads.unit])
    workspace = Workspace(engine, broker, hub)
    brand = Brand(workspace, settings.embed_origins)
    away = AwayMode(workspace, presence, conversations, away_defaults(settings))
    messaging = MessageSender(conversations, attachments, upload_limiter, after_visitor=away.after_visitor_message)
    telegram_accounts = TelegramAccounts(engine, telegram_client)
    telegram: TelegramBridge | None = None
    if telegram_client is not None and telegram_outbox is not None:
        telegram = make_bridge(
            settings,
            telegram_client,
            telegram_outbox,
            conversations=conversations,
            attachments=attachments,
            presence=presence,
            messaging=messaging,
            accounts=telegram_accounts,
            triage=triage,
        )
    database = Database(engine)
    retention = Retention(engine, broker, settings.message_retention_seconds, attachments.kick)
    housekeeping = Housekeeping(engine)
    snoozes = SnoozeAlarm(broker)  # announces snoozes that ended (app/services/status.py)
    blocks = Blocks(engine, cipher, broker, hub)
    smtp = SmtpSender(settings.smtp, timeout=settings.smtp_timeout_seconds) if settings.smtp else None
    mail = MailOutbox(engine, cipher, smtp, retry_seconds=settings.mail_retry_seconds)
    workers: list[BackgroundWorker] = [
        database,
        broker,
        workspace,
        presence,
        attachments,
        retention,
        housekeeping,
        snoozes,
        blocks,
    ]
    if telegram is not None:
        workers.append(telegram)
    replies = ReplyMailer(
        engine,
        cipher,
        presence,
        mail,
        jinja,
        brand,
        secret_key=settings.secret_key,
        settings=MailSettings(settings.public_url, settings.mail_from, settings.email_after_seconds),
    )
    if mail.configured:
        workers.extend([mail, replies])
    auth = AuthService(
        username=settings.admin_username,
        password_hash=settings.admin_password_hash or hash_password(settings.admin_password),
        secret_key=settings.secret_key,
        code_sender=code_sender,
        code_seconds=settings.login_code_seconds,
        idle_seconds=settings.session_idle_seconds,
        absolute_seconds=settings.session_absolute_seconds,
        broker=broker,
        lockout_seconds=settings.login_lockout_seconds,
        cipher=cipher,
        # Agents other than owners, without TOTP or a linked Telegram account: the console (production: none).
        agent_code_sender=ConsoleCodeSender(enabled=not settings.is_production),
        # Any agent with a linked Telegram account (and no TOTP): their own private chat with the bot.
        linked_code_sender=code_sender if isinstance(code_sender, TelegramCodeSender) else None,
    )
    agents = AgentService(engine, auth, cipher)
    ratings = Ratings(engine, cipher)
    workers.insert(1, agents)  # right after the database: the first owner exists before anything serves
    receipts = Receipts(broker)
    transcripts = Transcripts(conversations, jinja, settings.secret_key, brand)
    streams = StreamServices(
        conversations=conversations,
        presence=presence,
        hub=hub,
        metrics=metrics,
        auth=auth,
        fragments=Fragments(jinja),
        ping_seconds=settings.sse_ping_seconds,
        seen=replies.seen if mail.configured else None,
        support=away.status,
        in_hours=away.in_hours,
        receipts=receipts,
    )
    return Services(
        settings=settings,
        engine=engine,
        database=database,
        hub=hub,
        broker=broker,
        presence=presence,
        conversations=conversations,
        triage=triage,
        ratings=ratings,
        reports=Reports(),
        snoozes=snoozes,
        auth=auth,
        agents=agents,
        telegram_accounts=telegram_accounts,
        visitor_signer=Signer(settings.secret_key, "visitor"),
        jinja=jinja,
        assets=assets,
        attachments=attachments,
        local_storage=local_storage,
        stores=stores,
        upload_limiter=upload_limiter,
        messaging=messaging,
        retention=retention,
        housekeeping=housekeeping,
        downloads=Downloads(conversations, auth, attachments.storage, local_storage),
        health=Health(
            broker, hub, telegram, attachments.storage.backend, settings.data_dir, mail, public_url=settings.public_url
        ),
        streams=streams,
        visitor_pages=VisitorPages(
            conversations,
            presence,
            settings.message_retention_seconds,
            VisitorEmails(engine, cipher, presence, settings.ask_email, online=away.support_online),
            StartGuard(settings.secret_key, settings.start_min_seconds),
            ratings,
            blocks,
            away=away,
            receipts=receipts,
        ),
        blocks=blocks,
        transcripts=transcripts,
        exports=Exports(transcripts, ratings, attachments.storage, local_storage),
        erasure=Erasure(engine, broker, cipher, attachments.kick, telegram),
        search=Search(cipher),
        metrics=metrics,
        brand=brand,
        away=away,
        mail=mail,
        replies=replies,
        transcript_mail=TranscriptMailer(
            engine, transcripts, mail, jinja, ratings, public_url=settings.public_url, mail_from=settings.mail_from
        ),
        typing=Typing(broker, preview=settings.typing_preview),
        receipts=receipts,
        telegram=telegram,
        workers=workers,
    )


def away_defaults(settings: Settings) -> AwaySettings:
    """Business hours and away mode as the environment sets them (the owner may change them on /admin/settings)."""
    return AwaySettings(
        settings.business_hours,
        settings.timezone,
        settings.away_message,
        settings.expected_reply,
        settings.hide_when_away,
    )


def rate_limit_store(settings: Settings) -> Callable[[str], Store]:
    def make_store(name: str) -> Store:
        """Rate-limit counts: in the database on PostgreSQL, where every server process must count together; in
        memory on SQLite, which runs in one process (a database write per request would cost more than the
        request)."""
        return DatabaseStore(name) if settings.is_postgres else SweepingMemoryStore()

    return make_store


def _file_url(storage: Storage) -> Callable[[str, str, str], str]:
    def file_url(public_id: str, backend: str, key: str) -> str:
        """Every file goes through the access-checked /media/ route (Cloudinary's too: it redirects to a signed,
        short-lived URL)."""
        url = storage.public_url(key) if backend == storage.backend else None
        return url or f"/media/{public_id}"

    return file_url


def _file_bytes(storage: Storage, local_storage: LocalStorage) -> Callable[[str, str], Any]:
    async def file_bytes(backend: str, key: str) -> bytes | str | None:
        """A stored file for Telegram: its bytes from disk, or a short-lived signed Cloudinary URL (Telegram
        fetches it at once)."""
        if backend == local_storage.backend:
            try:
                return await anyio.Path(local_storage.path(key)).read_bytes()
            except (OSError, ValueError):
                return None
        return storage.signed_url(key) if backend == storage.backend else None

    return file_bytes


@asynccontextmanager
async def run_workers(workers: Sequence[BackgroundWorker]) -> AsyncIterator[None]:
    """Start `workers` in order; on leaving (or when one fails to start) stop the started ones in reverse.

    The web app: `async with run_workers(services.workers): ...` in its lifespan."""
    async with AsyncExitStack() as stack:
        for worker in workers:
            await worker.start()
            stack.push_async_callback(worker.stop)
        yield


@asynccontextmanager
async def open_services(settings: Settings, *, workers: bool = True) -> AsyncIterator[Services]:
    """The services with their workers running, for as long as the block runs. A command that only reads or
    writes the database (no presence heartbeat, retention loop, Telegram delivery...) passes `workers=False`:
    only the database is opened (and Piccolo's tables pointed at it)::

        async with open_services(settings, workers=False) as services:
            await services.retention.enforce()
    """
    services = build_services(settings)
    async with run_workers(services.workers if workers else [services.database]):
        yield services
