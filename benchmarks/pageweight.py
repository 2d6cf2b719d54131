"""Page weight: what a cold browser downloads, measured in headless Chromium through the DevTools protocol.

Every response's transferred size is `Network.loadingFinished.encodedDataLength` (compressed body plus response
headers, as on the wire), plus the redirects it went through; a response still open when we stop counting (the
SSE stream) counts the bytes received so far (`Network.dataReceived.encodedDataLength`) plus its headers. Bytes are
grouped by the resource type Chromium gives each request: document, script, stylesheet, other.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from benchmarks.common import LOOPBACK

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
KINDS = {"Document": "document", "Script": "script", "Stylesheet": "stylesheet"}
SETTLE_SECONDS = 1.5  # after `load`: deferred scripts, the SSE stream's first events, lazy requests


def cold(browser: Any, url: str, origin: str, cookies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Load `url` in a fresh context (empty cache)."""
    context = browser.new_context()
    try:
        if cookies:
            context.add_cookies(cookies)
        return measure(context, url, origin)
    finally:
        context.close()


def measure(context: Any, url: str, origin: str) -> dict[str, Any]:
    """Load `url` in `context` and count the bytes of every request to `origin`."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    requests: dict[str, dict[str, Any]] = defaultdict(lambda: {"url": "", "kind": "other", "head": 0, "body": 0})
    finished: dict[str, int] = {}

    def on_request(event: dict[str, Any]) -> None:
        entry = requests[event["requestId"]]
        if "redirectResponse" in event:  # the same request id goes on to the redirect's target
            entry["redirects"] = entry.get("redirects", 0) + int(
                event["redirectResponse"].get("encodedDataLength") or 0
            )
        entry["url"] = event["request"]["url"]
        entry["kind"] = KINDS.get(event.get("type", ""), "other")

    def on_response(event: dict[str, Any]) -> None:
        entry = requests[event["requestId"]]
        entry["head"] = int(event["response"].get("encodedDataLength") or 0)
        entry["status"] = event["response"].get("status")
        entry["encoding"] = (event["response"].get("headers") or {}).get("content-encoding", "")

    def on_data(event: dict[str, Any]) -> None:
        # A chunk that came in the same packet as the headers is reported with encodedDataLength 0 (the event
        # stream's first events, 192 bytes, were counted or not with the timing): its dataLength then.
        requests[event["requestId"]]["body"] += int(event.get("encodedDataLength") or event.get("dataLength") or 0)

    def on_finished(event: dict[str, Any]) -> None:
        finished[event["requestId"]] = int(event["encodedDataLength"])

    cdp.on("Network.requestWillBeSent", on_request)
    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.dataReceived", on_data)
    cdp.on("Network.loadingFinished", on_finished)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(url, wait_until="load")
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
    totals: dict[str, int] = defaultdict(int)
    listing = []
    for request_id, entry in requests.items():
        if not entry["url"].startswith(origin):
            continue
        size = finished.get(request_id, entry["head"] + entry["body"]) + entry.get("redirects", 0)
        totals[entry["kind"]] += size
        listing.append(
            {
                "url": entry["url"].removeprefix(origin),
                "kind": entry["kind"],
                "bytes": size,
                "status": entry.get("status"),
                "encoding": entry.get("encoding", ""),
                "finished": request_id in finished,
            }
        )
    page.close()
    return {
        "total_bytes": sum(totals.values()),
        "header_bytes": sum(
            r["head"] + r.get("redirects", 0) for r in requests.values() if r["url"].startswith(origin)
        ),
        "by_kind": {k: totals.get(k, 0) for k in ("document", "script", "stylesheet", "other")},
        "requests": sorted(listing, key=lambda r: r["url"]),
    }


def widget_host_page(server_url: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>host</title></head><body><p>A host page."
        f" <a href='{server_url}/?src=embed' data-sohbet>Chat with us</a></p>"
        f"<script src='{server_url}/embed.js' async></script></body></html>"
    )


@contextlib.contextmanager
def host_page(html: str) -> Iterator[str]:
    """Serve `html` at http://127.0.0.1:PORT/ from a thread, for as long as the block runs."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body) if self.path == "/" else 0))
            self.end_headers()
            if self.path == "/":
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def run(server_url: str, conversation_cookies: list[dict[str, Any]], widget: bool) -> dict[str, Any]:
    """Cold loads of the start form, of an open conversation (its cookies given), and of a host page that embeds
    the widget's launcher (`widget`: only when the server has /embed.js)."""
    from playwright.sync_api import sync_playwright

    assert server_url.startswith(f"http://{LOOPBACK}:"), server_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            result = {
                "start": cold(browser, server_url + "/", server_url),
                "chat": cold(browser, server_url + "/", server_url, conversation_cookies),
            }
            if widget:
                # The host page comes from a tiny server of its own on loopback (not counted): only the widget's
                # bytes from the Sohbet server are.
                with host_page(widget_host_page(server_url)) as host:
                    result["widget"] = cold(browser, host, server_url)
            return result
        finally:
            browser.close()
