"""An embedding host site for the widget's browser tests (test_browser_embed.py, test_widget_embed.py,
test_safe_actions.py): a small website on loopback (`HostSite`; the `host_site` fixture in conftest.py), the
Sohbet server it embeds (`embedding_server`), and the probes for the widget on its pages."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from playwright.sync_api import Frame, Page

from tests.browser import TIMEOUT_MS, BrowserSession
from tests.support import Server

T = TypeVar("T")

LABEL = "Chat with us"
GREETING = "Hi! Questions about your order?"
COLOR = "#7a1fa2"
# Records, in every frame, what the tests look at: the launcher's `sohbet:unread` events (host page) and the
# sounds played (the Sohbet iframe plays the notification itself).
RECORDER = """
(() => {
  window.__unread = [];
  document.addEventListener("sohbet:unread", (e) => window.__unread.push(e.detail.count));
  window.__played = 0;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    window.__played += 1;
    return play.call(this).catch(() => {});
  };
})();
"""
SHADOW = "document.querySelector('sohbet-chat').shadowRoot"


# -- the host site ---------------------------------------------------------------------------------------------


class HostSite:
    """A small website on loopback, in a thread. Pages: `/page1`, `/page2` (the snippet, pointing at `sohbet`),
    `/direct` (a plain iframe of /embed, no widget), `/forger` (an empty page for another origin to post from).
    Query: `noframe=1` leaves Sohbet out of frame-src, `forger=1` adds a frame from another origin, `s=URL`
    points the snippet at another Sohbet address."""

    def __init__(self, sohbet: str) -> None:
        self.sohbet = sohbet
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                status, body, csp = site.render(parts.path, query)
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                if csp:
                    self.send_header("Content-Security-Policy", csp)
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def other_origin(self) -> str:
        """The same server under another origin (another host name): a stranger to the widget."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def render(self, path: str, query: dict[str, str]) -> tuple[int, str, str]:
        sohbet = query.get("s", self.sohbet)
        frames = [sohbet] if query.get("noframe") != "1" else []
        if query.get("forger") == "1":
            frames.append(self.other_origin)
        csp = "; ".join(
            [
                "default-src 'none'",
                f"script-src {sohbet}",
                f"frame-src {' '.join(frames) or chr(39) + 'none' + chr(39)}",
                "base-uri 'none'",
                "form-action 'none'",
            ]
        )
        if path == "/forger":
            return 200, "<!doctype html><title>forger</title><p>another site</p>", ""
        if path == "/direct":
            policy = ' referrerpolicy="no-referrer"' if query.get("noref") == "1" else ""
            frame = f'<iframe src="{sohbet}/embed" title="chat"{policy}></iframe>'
            return 200, f"<!doctype html><title>direct</title>{frame}", csp
        match = re.fullmatch(r"/page(\d)", path)
        if not match:
            return 404, "<!doctype html><title>404</title>", csp
        number = int(match.group(1))
        forger = f'<iframe src="{self.other_origin}/forger" title="forger"></iframe>' if "forger" in query else ""
        keep = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        body = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop page {number}</title></head>
<body>
<h1>Shop page {number}</h1>
<p><a id="next" href="/page{3 - number}{"?" + keep if keep else ""}">Go to page {3 - number}</a></p>
<p>Questions? <a href="{sohbet}/?src=embed" data-sohbet data-color="{COLOR}" data-greeting="{GREETING}">{LABEL}</a></p>
{forger}
<script src="{sohbet}/embed.js" defer></script>
</body>
</html>"""
        return 200, body, csp


def embedding_server(make_server: Callable[..., Server], name: str, *sites: HostSite, **env: str) -> Server:
    """A Sohbet server that the first of `sites` may embed (EMBED_ORIGINS), and every site's snippet pointed at it."""
    server = make_server(name, EMBED_ORIGINS=sites[0].url, **env)
    for site in sites:
        site.sohbet = server.url
    return server


def host_page(browsers: BrowserSession, base_url: str, **options: Any) -> Page:
    page = browsers.new_page(base_url, **options)
    if options.get("java_script_enabled", True):
        page.context.add_init_script(RECORDER)
    return page


def launcher(page: Page):
    return page.locator("sohbet-chat button.b")


def panel(page: Page):
    return page.locator("sohbet-chat #p")


def settle(page: Page, predicate: Callable[[], T], message: str) -> T:
    """Like wait_until, but lets Playwright deliver its events (frames, requests) while it waits: the sync API
    only does so inside its own calls."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        page.wait_for_timeout(50)
    return value


def chat_frame(page: Page, sohbet: Server) -> Frame:
    return settle(
        page,
        lambda: next((f for f in page.frames if f.url.startswith(sohbet.url + "/embed")), None),
        "the chat iframe",
    )


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"
