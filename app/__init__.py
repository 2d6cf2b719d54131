"""Sohbet: self-hosted live chat. `create_app(settings)` builds the Litestar application."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from app import assets as asset_routes
from app.assets import asset_urls, build_assets
from app.cors import ApiCORSMiddleware, api_cors_config
from app.limits import MULTIPART_PARTS_MAX, BodyLimitMiddleware
from app.models import Conversation
from app.models.db import bind_tables, close_engine, make_engine, open_engine
from app.proxy import ProxyHeadersMiddleware
from app.ratelimit import AtomicRateLimitMiddleware
from app.routes import admin, api, auth, embed, events, health, media, visitor
from app.routes import telegram as telegram_routes
from app.services.attachments import AttachmentService
from app.services.auth import AuthService, ConsoleCodeSender, hash_password
from app.services.conversations import ConversationService
from app.services.crypto import Cipher, Signer, token_hash
from app.services.housekeeping import Housekeeping
from app.services.idempotency import new_client_msg_id
from app.services.messaging import MessageSender
from app.services.metrics import Metrics
from app.services.presence import PresenceTracker
from app.services.realtime import Hub, MemoryBroker, PostgresBroker
from app.services.retention import Retention
from app.services.storage import LocalStorage, make_storage
from app.services.store import DatabaseStore, SlidingWindowLimiter, SweepingMemoryStore
from app.services.telegram import TelegramBridge, TelegramClient, TelegramCodeSender, TelegramOutbox, make_bridge
from app.services.text import render_message_html
from app.settings import RATE_UNITS, RateLimit, Settings
from app.sse import server_exiting
from app.version import VERSION
from app.web import VISITOR_COOKIE, Sohbet, client_ip, error_response, make_before_send

__version__ = VERSION
APP_DIR = Path(__file__).resolve().parent
STATIC_DIR = APP_DIR / "static"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line. Our loggers pass JSON objects; anything else is wrapped (and so escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
        }
        try:
            parsed = json.loads(message)
            entry.update(parsed if isinstance(parsed, dict) else {"message": message})
        except ValueError:
            entry["message"] = message
        if record.exc_info:
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else "unknown"
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    ours = logging.getLogger("sohbet")
    ours.handlers[:] = [handler]
    ours.setLevel(level)
    ours.propagate = False
    # Libraries (asyncpg, piccolo, litestar) log through the root logger: JSON lines too, warnings and up.
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # httpx logs every request's URL at INFO, and Telegram's URLs carry the bot token: never below WARNING.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def make_jinja() -> Environment:
    env = Environment(
        loader=FileSystemLoader(APP_DIR / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )
    env.filters["message_html"] = render_message_html
    env.filters["hhmm"] = lambda moment: moment.strftime("%H:%M") if isinstance(moment, datetime) else ""
    env.filters["iso"] = lambda moment: moment.isoformat("T", "seconds") if isinstance(moment, datetime) else ""
    env.globals["static_version"] = static_version()
    env.globals["new_client_msg_id"] = new_client_msg_id
    return env


def static_version() -> str:
    stamp = max((p.stat().st_mtime_ns for p in STATIC_DIR.iterdir()), default=0)
    return token_hash(str(stamp))[:10]


def rate_limit(limit: RateLimit, store: str, identifier: Any = None, *, every_method: bool = False) -> RateLimitConfig:
    config = RateLimitConfig(
        rate_limit=(limit.unit, limit.count),  # type: ignore[arg-type]
        store=store,
        middleware_class=AtomicRateLimitMiddleware,
        check_throttle_handler=lambda request: every_method or request.method == "POST",
    )
    if identifier is not None:
        config.identifier_for_request = identifier
    return config


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)

    engine = make_engine(settings.database_url)
    bind_tables(engine)
    hub = Hub()
    metrics = Metrics(VERSION)  # this process's counters (GET /metrics); services record into it
    if settings.is_postgres:
        broker: Any = PostgresBroker(hub, settings.database_url, lambda sql, *args: Conversation.raw(sql, *args))
    else:
        broker = MemoryBroker(hub)
    presence = PresenceTracker(broker, settings.presence_heartbeat_seconds)
    jinja = make_jinja()
    assets = build_assets()
    jinja.globals["assets"] = asset_urls(assets)
    password_hash = settings.admin_password_hash or hash_password(settings.admin_password)
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

    def file_url(public_id: str, backend: str, key: str) -> str:
        """Every file goes through the access-checked /media/ route (Cloudinary's too: it redirects to a signed,
        short-lived URL)."""
        url = storage.public_url(key) if backend == storage.backend else None
        return url or f"/media/{public_id}"

    async def file_bytes(backend: str, key: str) -> bytes | str | None:
        """A stored file for Telegram: its bytes from disk, or a short-lived signed Cloudinary URL (Telegram
        fetches it at once)."""
        if backend == local_storage.backend:
            try:
                return await anyio.Path(local_storage.path(key)).read_bytes()
            except (OSError, ValueError):
                return None
        return storage.signed_url(key) if backend == storage.backend else None

    cipher = Cipher(settings.encryption_keys)
    telegram_client: TelegramClient | None = None
    telegram_outbox: TelegramOutbox | None = None
    code_sender: Any = ConsoleCodeSender(enabled=not settings.is_production)
    if settings.telegram_configured:
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
            file_source=file_bytes,
        )
        code_sender = TelegramCodeSender(telegram_client, settings.telegram_chat_id, settings.login_code_seconds)
    conversations = ConversationService(
        engine,
        cipher,
        broker,
        settings.page_size,
        file_url=file_url,
        files_queued=attachments.kick,
        outbox=telegram_outbox,
        metrics=metrics,
    )

    def make_store(name: str) -> Store:
        """Rate-limit counts: in the database on PostgreSQL, where every server process must count together; in
        memory on SQLite, which runs in one process (a database write per request would cost more than the
        request)."""
        return DatabaseStore(name) if settings.is_postgres else SweepingMemoryStore()

    uploads = settings.rate_limit_uploads
    upload_limiter = SlidingWindowLimiter(make_store("rl-uploads"), uploads.count, RATE_UNITS[uploads.unit])
    messaging = MessageSender(conversations, attachments, upload_limiter)
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
        )

    housekeeping = Housekeeping(engine)
    state = Sohbet(
        settings=settings,
        engine=engine,
        hub=hub,
        broker=broker,
        presence=presence,
        conversations=conversations,
        auth=AuthService(
            username=settings.admin_username,
            password_hash=password_hash,
            secret_key=settings.secret_key,
            code_sender=code_sender,
            code_seconds=settings.login_code_seconds,
            idle_seconds=settings.session_idle_seconds,
            absolute_seconds=settings.session_absolute_seconds,
            broker=broker,
            lockout_seconds=settings.login_lockout_seconds,
        ),
        visitor_signer=Signer(settings.secret_key, "visitor"),
        jinja=jinja,
        attachments=attachments,
        retention=Retention(engine, broker, settings.message_retention_seconds, attachments.kick),
        local_storage=local_storage,
        metrics=metrics,
        upload_limiter=upload_limiter,
        messaging=messaging,
        telegram=telegram,
    )

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await open_engine(engine)
        await broker.start()
        await presence.start()
        await attachments.start()
        await state.retention.start()
        await housekeeping.start()
        if telegram is not None:
            await telegram.start()

        async def end_streams_on_shutdown() -> None:
            await server_exiting()
            hub.shutdown()

        watcher = asyncio.create_task(end_streams_on_shutdown(), name="sohbet-shutdown-watcher")
        try:
            yield
        finally:
            watcher.cancel()
            if telegram is not None:
                await telegram.stop()
            await housekeeping.stop()
            await state.retention.stop()
            await attachments.stop()
            await presence.stop()
            await broker.stop()
            await close_engine(engine)

    def visitor_identifier(request: Request[Any, Any, Any]) -> str:
        token = state.visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
        return f"visitor:{token_hash(token)[:32]}" if token else f"ip:{client_ip(request)}"

    messages_limit = rate_limit(settings.rate_limit_messages, "rl-messages", visitor_identifier)
    start_limit = rate_limit(settings.rate_limit_messages, "rl-start")
    login_limit = rate_limit(settings.rate_limit_login, "rl-login")
    api_limit = rate_limit(settings.rate_limit_api, "rl-api", every_method=True)

    upload_max = max(settings.max_image_bytes, settings.max_audio_bytes) + 1024 * 1024
    route_handlers: list[Any] = [
        *health.ROUTES,
        *events.ROUTES,
        *media.ROUTES,
        *telegram_routes.ROUTES,
        *embed.ROUTES,
        *asset_routes.ROUTES,
        visitor.index,
        visitor.end_chat,
        visitor.switch_language,
        auth.logout,
        Router(path="/", route_handlers=[visitor.send_message], middleware=[messages_limit.middleware]),
        Router(path="/", route_handlers=api.LOGIN_ROUTES, middleware=[login_limit.middleware]),
        api.make_router([api_limit.middleware]),
        Router(path="/", route_handlers=[visitor.start_chat], middleware=[start_limit.middleware]),
        Router(
            path="/",
            route_handlers=[auth.login_form, auth.login_submit, auth.login_verify],
            middleware=[login_limit.middleware],
        ),
        admin.router,
        create_static_files_router(
            path="/static",
            directories=[STATIC_DIR],
            name="static",
            include_in_schema=False,
            cache_control=CacheControlHeader(max_age=86400, public=True),
        ),
    ]

    app = Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja)),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.is_production,
            cookie_httponly=True,
            cookie_samesite="lax",
            # Static files and uploads get no CSRF cookie (only forms need one; it cost ~230 bytes a response).
            exclude=["^/telegram/webhook$", "^/static/", "^/media/"],
        ),
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=500, exclude=["^/chat/events", "^/admin/events", "^/assets/"]
        ),
        stores=StoreRegistry(default_factory=make_store),
        exception_handlers={HTTPException: error_response, Exception: error_response},
        before_send=[make_before_send(settings, metrics)],
        openapi_config=OpenAPIConfig(
            title="Sohbet API", version=__version__, path="/schema", render_plugins=[JsonRenderPlugin()]
        ),
        middleware=[
            # First: every later layer (rate limits, CSRF, routes) sees the resolved client and a checked Host.
            DefineMiddleware(
                ProxyHeadersMiddleware, trusted=settings.forwarded_allow_ips, allowed_hosts=settings.served_hosts
            ),
            DefineMiddleware(ApiCORSMiddleware, config=api_cors_config(settings.cors_origins)),
            DefineMiddleware(BodyLimitMiddleware, upload_max=upload_max),
        ],
        request_max_body_size=upload_max,  # a backstop: BodyLimitMiddleware refuses first, per route
        multipart_form_part_limit=MULTIPART_PARTS_MAX,
        debug=False,
    )
    app.state.sohbet = state
    app.state.assets = assets
    return app
