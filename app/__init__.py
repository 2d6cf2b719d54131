"""Sohbet: self-hosted live chat. `create_app(settings)` builds the Litestar application.

The services come from app/wiring.py; here they meet the web: routes, their rate limits, the middleware stack,
and a lifespan that runs the background workers. Building the app changes no process-wide state: logging is
configured by the entry points that serve it (app/main.py, `sohbet serve`), the database is bound on start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import assets as asset_routes
from app.cors import ApiCORSMiddleware, api_cors_config
from app.csrf import csrf_config
from app.limits import MULTIPART_PARTS_MAX, BodyLimitMiddleware
from app.proxy import ProxyHeadersMiddleware
from app.ratelimit import route_limits
from app.routes import (
    admin,
    api,
    audit,
    auth,
    blocks,
    canned,
    embed,
    events,
    health,
    labels,
    links,
    media,
    privacy,
    ratings,
    reports,
    search,
    team,
    transcript_mail,
    triage,
    visitor,
)
from app.routes import settings as settings_routes
from app.routes import telegram as telegram_routes
from app.routes import typing as typing_routes
from app.settings import LITESTAR_DEBUG, Settings
from app.sse import StreamsEndOnExit
from app.templating import STATIC_DIR
from app.version import VERSION
from app.web import error_response, make_before_send
from app.web.blocking import BlockedVisitorsMiddleware
from app.wiring import Services, build_services, run_workers

__version__ = VERSION


def create_app(settings: Settings | None = None) -> Litestar:
    services = build_services(settings or Settings.from_env())
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with run_workers([*services.workers, StreamsEndOnExit(services.hub)]):
            yield

    upload_max = upload_body_max(settings)
    app = Litestar(
        route_handlers=route_handlers(services),
        lifespan=[lifespan],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(services.jinja)),
        csrf_config=csrf_config(settings),
        compression_config=compression_config(),
        stores=services.stores,
        exception_handlers={HTTPException: error_response, Exception: error_response},
        before_send=[make_before_send(settings, services.metrics, lambda: services.brand.current.embed_origins)],
        openapi_config=openapi_config(),
        middleware=middleware(settings, upload_max),
        request_max_body_size=upload_max,  # a backstop: BodyLimitMiddleware refuses first, per route
        multipart_form_part_limit=MULTIPART_PARTS_MAX,
        debug=LITESTAR_DEBUG,
    )
    app.state.services = services
    app.state.assets = services.assets
    return app


def route_handlers(services: Services) -> list[Any]:
    """Every route, each group behind its rate limit."""
    limits = route_limits(services.settings, services.visitor_signer)
    return [
        *health.ROUTES,
        *events.ROUTES,
        *media.ROUTES,
        *telegram_routes.ROUTES,
        *links.ROUTES,
        *privacy.ROUTES,
        *embed.ROUTES,
        *settings_routes.ROUTES,
        *audit.ROUTES,
        *reports.ROUTES,
        *asset_routes.ROUTES,
        visitor.index,
        visitor.end_chat,
        visitor.transcript,
        visitor.switch_language,
        typing_routes.visitor_typing,  # not behind the messages' rate limit: app/services/typing.py throttles it
        auth.logout,
        Router(
            path="/",
            route_handlers=[
                visitor.send_message,
                visitor.email_form,
                visitor.save_email,
                ratings.rate,
                *transcript_mail.ROUTES,
            ],
            middleware=[limits.messages.middleware],
        ),
        Router(path="/", route_handlers=api.LOGIN_ROUTES, middleware=[limits.login.middleware]),
        api.make_router([limits.api.middleware]),
        Router(path="/", route_handlers=[*audit.API_ROUTES, *search.API_ROUTES], middleware=[limits.api.middleware]),
        Router(path="/", route_handlers=reports.API_ROUTES, middleware=[limits.api.middleware]),
        triage.make_api_router([limits.api.middleware]),
        Router(
            path="/", route_handlers=[visitor.start_chat, visitor.leave_message], middleware=[limits.start.middleware]
        ),
        Router(
            path="/",
            route_handlers=[auth.login_form, auth.login_submit, auth.login_verify, *team.INVITE_ROUTES],
            middleware=[limits.login.middleware],
        ),
        admin.router,
        triage.html_router,
        team.owner_router,
        team.me_router,
        canned.router,
        labels.router,
        blocks.agent_router,
        blocks.owner_router,
        privacy.owner_router,
        search.router,
        typing_routes.router,
        create_static_files_router(
            path="/static",
            directories=[STATIC_DIR],
            name="static",
            include_in_schema=False,
            cache_control=CacheControlHeader(max_age=86400, public=True),
        ),
    ]


def middleware(settings: Settings, upload_max: int) -> list[DefineMiddleware]:
    return [
        # First: every later layer (rate limits, CSRF, routes) sees the resolved client and a checked Host.
        DefineMiddleware(
            ProxyHeadersMiddleware, trusted=settings.forwarded_allow_ips, allowed_hosts=settings.served_hosts
        ),
        DefineMiddleware(BlockedVisitorsMiddleware),
        DefineMiddleware(ApiCORSMiddleware, config=api_cors_config(settings.cors_origins)),
        DefineMiddleware(BodyLimitMiddleware, upload_max=upload_max),
    ]


def upload_body_max(settings: Settings) -> int:
    return max(settings.max_image_bytes, settings.max_audio_bytes) + 1024 * 1024


def compression_config() -> CompressionConfig:
    return CompressionConfig(backend="gzip", minimum_size=500, exclude=["^/chat/events", "^/admin/events", "^/assets/"])


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(title="Sohbet API", version=__version__, path="/schema", render_plugins=[JsonRenderPlugin()])
