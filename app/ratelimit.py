"""The rate-limit middleware, counting in one atomic statement when the count lives in the database.

Litestar's `RateLimitMiddleware` reads the window's history from the store, checks it and writes it back, under
a lock that only this process honours: two server processes on PostgreSQL both read N, both write N+1, and more
requests pass than the limit allows. With our `DatabaseStore` this middleware instead adds one to the window's
counter by a single `INSERT … ON CONFLICT DO UPDATE … RETURNING` (app/services/counters.py) and refuses when the
returned count is over the limit — the same fixed window, the same headers. The in-memory store (SQLite, one
process) keeps Litestar's own path.
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, CacheObject, RateLimitMiddleware

from app.services.store import DatabaseStore


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
