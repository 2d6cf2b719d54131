"""The rate-limit middleware, counting in one atomic statement when the count lives in the database.

Litestar's `RateLimitMiddleware` reads the window's history from the store, checks it and writes it back, under
a lock that only this process honours: two server processes on PostgreSQL both read N, both write N+1, and more
requests pass than the limit allows. With our `DatabaseStore` this middleware instead adds one to the window's
counter by a single `INSERT … ON CONFLICT DO UPDATE … RETURNING` (app/services/counters.py) and refuses when the
returned count is over the limit — the same fixed window, the same headers. The in-memory store (SQLite, one
process) keeps Litestar's own path.

`route_limits` builds the four limits the routes apply (visitor messages, starting a chat, logins, the JSON API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, CacheObject, RateLimitConfig, RateLimitMiddleware

from app.services.crypto import Signer, token_hash
from app.services.store import DatabaseStore
from app.settings import RateLimit, Settings
from app.web import VISITOR_COOKIE, client_ip


class AtomicRateLimitMiddleware(RateLimitMiddleware):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = scope["litestar_app"]
        store = self.config.get_store_from_app(app)
        if not isinstance(store, DatabaseStore):
            await super().__call__(scope, receive, send)
            return
        request = app.request_class(scope)
        if await self.should_check_request(request=request):
            count, reset = await store.increment(self.cache_key_from_request(request), DURATION_VALUES[self.unit])
            # The headers read only the history's length and the reset time.
            cache_object = CacheObject(history=[0] * min(count, self.max_requests + 1), reset=int(reset))
            if count > self.max_requests:
                raise TooManyRequestsException(
                    headers=self.create_response_headers(cache_object=cache_object)
                    if self.config.set_rate_limit_headers
                    else None
                )
            if self.config.set_rate_limit_headers:
                send = self.create_send_wrapper(send=send, cache_object=cache_object)
        await self.app(scope, receive, send)


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


def visitor_identifier(visitor_signer: Signer) -> Any:
    """A visitor's messages count by their visitor token, else by the client's address."""

    def identify(request: Request[Any, Any, Any]) -> str:
        token = visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
        return f"visitor:{token_hash(token)[:32]}" if token else f"ip:{client_ip(request)}"

    return identify


@dataclass(frozen=True)
class RouteLimits:
    messages: RateLimitConfig
    start: RateLimitConfig
    login: RateLimitConfig
    api: RateLimitConfig


def route_limits(settings: Settings, visitor_signer: Signer) -> RouteLimits:
    return RouteLimits(
        messages=rate_limit(settings.rate_limit_messages, "rl-messages", visitor_identifier(visitor_signer)),
        start=rate_limit(settings.rate_limit_start, "rl-start"),
        login=rate_limit(settings.rate_limit_login, "rl-login"),
        api=rate_limit(settings.rate_limit_api, "rl-api", every_method=True),
    )
