"""`sohbet healthcheck`: GET /health (or /health/ready) of a running server and a short summary of its checks,
for container HEALTHCHECKs and cron. Exit status 0 when ok or degraded, 1 when unavailable or unreachable."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from app.ops.findings import human_size


class BadURL(ValueError):
    """Not an http(s) URL of a server."""


@dataclass
class HealthResult:
    exit_code: int  # 0 ok or degraded, 1 unavailable or unreachable
    status: str
    lines: list[str]


def health_url(url: str, *, ready: bool = False) -> str:
    """URL of the server's /health (or /health/ready); the base may already end in either."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise BadURL(f"{url!r} is not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadURL(f"{url!r} is not an http:// or https:// URL of a server")
    path = parts.path.rstrip("/")
    for suffix in ("/health/ready", "/health"):
        path = path.removesuffix(suffix)
    path += "/health/ready" if ready else "/health"
    return urlunsplit(SplitResult(parts.scheme, parts.netloc, path, "", ""))


def summarize_checks(checks: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(one short text per check, the checks that are degraded) of a /health body's `checks`."""
    parts, degraded = [], []
    for name, value in checks.items():
        bad = False
        if name == "disk" and isinstance(value, dict):
            text = f"{human_size(value.get('free_bytes'))} free" + (" (LOW)" if value.get("low") else "")
            bad = bool(value.get("low"))
        elif name == "storage" and isinstance(value, dict):
            pending = value.get("pending_deletions")
            text = f"{value.get('backend')}, {pending} pending deletion(s)"
            bad = bool(pending)
        elif name == "memory" and isinstance(value, dict):
            text = f"{human_size(value.get('max_rss_bytes'))} max RSS"
        elif name == "streams" and isinstance(value, dict):
            text = f"{value.get('open')} open"
        elif isinstance(value, dict):
            status = value.get("status", "?")
            text = str(status) + (f" ({value['mode']})" if value.get("mode") else "")
            bad = status in ("backlog", "error", "unknown")
        else:
            text = str(value)
            bad = text not in ("ok", "not configured")
        parts.append(f"{name} {text}")
        if bad:
            degraded.append(f"{name}: {text}")
    return parts, degraded


def healthcheck(url: str, *, timeout: float = 5.0, ready: bool = False, token: str = "") -> HealthResult:
    """GET /health (or /health/ready); with `token`, as `Bearer METRICS_TOKEN` (the details beyond loopback).
    Raises BadURL for a URL that is not one."""
    target = health_url(url, ready=ready)
    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=3) as client:
            headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
            response = client.get(target, headers=headers)
    except httpx.TimeoutException:
        return HealthResult(1, "unreachable", [f"unreachable: no answer from {target} within {timeout:g}s"])
    except httpx.ConnectError as exc:
        return HealthResult(1, "unreachable", [f"unreachable: cannot connect to {target} ({exc})"])
    except httpx.InvalidURL as exc:
        raise BadURL(f"{url!r} is not a usable URL ({exc})") from exc
    except httpx.HTTPError as exc:
        return HealthResult(1, "unreachable", [f"unreachable: {target}: {type(exc).__name__}: {exc}"])
    elapsed = round((time.monotonic() - started) * 1000)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("status"), str):
        return HealthResult(
            1, "error", [f"error: HTTP {response.status_code} from {target} is not a Sohbet health answer"]
        )
    status = str(body["status"])
    about = ", ".join(str(body[key]) for key in ("version", "environment") if body.get(key))
    head = f"{status}: HTTP {response.status_code} from {target} in {elapsed} ms" + (f" ({about})" if about else "")
    parts, degraded = summarize_checks(body.get("checks") or {})
    lines = [head, "checks: " + "; ".join(parts)] if parts else [head]
    lines += [f"degraded: {item}" for item in degraded if status != "ok"]
    healthy = response.status_code == 200 and status in ("ok", "degraded")
    return HealthResult(0 if healthy else 1, status, lines)
