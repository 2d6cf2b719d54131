"""The Telegram webhook: Telegram posts each update here (TELEGRAM_MODE=webhook).

Only Telegram knows the secret given to `setWebhook`; a request without it (compared in constant time) is
refused with 403 before its body is read. This route is exempt from CSRF (Telegram has no CSRF token) and from
nothing else. A 500 makes Telegram retry the update later; the processor recognises one it has already handled.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from litestar import Request, Response, post

from app.limits import BODY_LIMIT
from app.web import services_of

log = logging.getLogger("sohbet.telegram")

MAX_UPDATE_BYTES = 1024 * 1024
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name


@post(
    "/telegram/webhook",
    include_in_schema=False,
    exclude_from_csrf=True,
    status_code=200,
    opt={BODY_LIMIT: MAX_UPDATE_BYTES},
)
async def webhook(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    services = services_of(request)
    bridge = services.telegram
    if bridge is None or bridge.mode != "webhook":
        return Response({"ok": False, "error": "not found"}, status_code=404)
    expected = services.settings.telegram_webhook_secret.encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, expected):
        log.warning(json.dumps({"event": "telegram.webhook_refused", "secret_present": bool(given)}))
        return Response({"ok": False, "error": "forbidden"}, status_code=403)
    body = await request.body()
    if len(body) > MAX_UPDATE_BYTES:
        return Response({"ok": False, "error": "too large"}, status_code=413)
    try:
        update = json.loads(body)
    except ValueError:
        return Response({"ok": False, "error": "not JSON"}, status_code=400)
    outcome = await bridge.processor.handle(update)  # an exception answers 500: Telegram tries again later
    return Response({"ok": True, "outcome": outcome})


ROUTES = [webhook]
