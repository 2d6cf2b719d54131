"""The webhook: setWebhook, deleteWebhook, getWebhookInfo, and the deliveries a test triggers (pushed updates
are never POSTed on their own)."""

from __future__ import annotations

import copy
import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

from tests.fakes.telegram.protocol import (
    SECRET_RE,
    SET_WEBHOOK_CONFLICT,
    Call,
    Described,
    Webhook,
    WebhookDelivery,
    bad_request,
    no_proxy_opener,
    param_bool,
    param_int,
    param_json,
    param_str,
)
from tests.fakes.telegram.updates import Updates


class Webhooks(Updates):
    """The webhook's settings and the deliveries a test asks for."""

    def deliver_webhook(
        self,
        update: dict[str, Any] | int,
        url: str | None = None,
        secret: str | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]:
        """POST the update (a dict, or a pushed update_id) as JSON to the webhook URL (or `url`), with header
        X-Telegram-Bot-Api-Secret-Token = the webhook's secret (or `secret`; `secret=""` sends none). Returns
        (HTTP status, body); status 0 when no answer came. A 2xx removes the update from the pending queue; an
        update without an update_id gets the next one (without being queued). Recorded in `webhook_deliveries`."""
        with self._lock:
            if isinstance(update, int):
                update = self.updates[update]
            target = url or (self.webhook.url if self.webhook else None)
            token = secret if secret is not None else (self.webhook.secret_token if self.webhook else None)
        if not target:
            raise ValueError("no webhook set and no url given")
        if "update_id" not in update:
            with self._lock:
                self._next_update_id += 1
                update["update_id"] = self._next_update_id
                self.updates[update["update_id"]] = copy.deepcopy(update)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        request = urllib.request.Request(target, json.dumps(update).encode(), headers=headers, method="POST")
        try:
            with no_proxy_opener().open(request, timeout=timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except (urllib.error.URLError, OSError):
            status, body = 0, b""
        with self._lock:
            self.webhook_deliveries.append(WebhookDelivery(update["update_id"], target, token, status, body))
            if 200 <= status < 300:
                self._pending = [entry for entry in self._pending if entry.update_id != update["update_id"]]
            elif self.webhook is not None:
                self.webhook.last_error_date = int(time.time())
                self.webhook.last_error_message = (
                    f"Wrong response from the webhook: {status}" if status else "Connection refused"
                )
        return status, body

    def flush_webhook(self) -> list[tuple[int, int]]:
        """Deliver the pending updates to the webhook, oldest first, as Telegram would; stop at the first one not
        answered 2xx (it stays pending). Returns [(update_id, status), ...]."""
        results: list[tuple[int, int]] = []
        while True:
            with self._lock:
                if self.webhook is None:
                    raise ValueError("no webhook set")
                self._pending = [entry for entry in self._pending if self._allowed(entry.update)]
                if not self._pending:
                    return results
                entry = min(self._pending, key=lambda pending: pending.update_id)
            status, _ = self.deliver_webhook(entry.update)
            results.append((entry.update_id, status))
            if not 200 <= status < 300:
                return results

    def _api_set_webhook(self, call: Call) -> Any:
        params = call.params
        url = param_str(params, "url") or ""
        if not url:
            return self._api_delete_webhook(call)
        if not re.match(r"^https?://[^/\s]+", url):
            raise bad_request("invalid webhook URL specified")
        secret = param_str(params, "secret_token") or None
        if secret is not None and not SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = param_json(params, "allowed_updates", "allowed updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        max_connections = min(max(param_int(params, "max_connections") or 40, 1), 100)
        drop = param_bool(params, "drop_pending_updates")
        with self._changed:
            same = (
                self.webhook is not None
                and self.webhook.url == url
                and self.webhook.secret_token == secret
                and (allowed is None or self.webhook.allowed_updates == allowed)
            )
            previous = self.webhook
            self.webhook = Webhook(url, secret, allowed if allowed is not None else None, max_connections)
            if previous is not None and allowed is None:
                self.webhook.allowed_updates = previous.allowed_updates
            if allowed is not None:
                self._allowed_updates = [str(kind) for kind in allowed]
            if drop:
                self._pending.clear()
            for poll in self.polls:
                if poll.ended is None and poll.terminated is None:
                    poll.terminated = SET_WEBHOOK_CONFLICT
            self._changed.notify_all()
        return Described(True, "Webhook is already set" if same else "Webhook was set")

    def _api_delete_webhook(self, call: Call) -> Any:
        drop = param_bool(call.params, "drop_pending_updates")
        with self._lock:
            existed = self.webhook is not None
            self.webhook = None
            if drop:
                self._pending.clear()
        return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _api_get_webhook_info(self, call: Call) -> Any:
        with self._lock:
            info: dict[str, Any] = {
                "url": self.webhook.url if self.webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if self.webhook is not None:
                info["max_connections"] = self.webhook.max_connections
                if self.webhook.allowed_updates is not None:
                    info["allowed_updates"] = list(self.webhook.allowed_updates)
                if self.webhook.last_error_date is not None:
                    info["last_error_date"] = self.webhook.last_error_date
                    info["last_error_message"] = self.webhook.last_error_message
            return info
