"""Real-browser tests (Playwright), and their helpers here: Debian's Chromium driven by Playwright (never
`playwright install`; `launch_chromium`, and the one `chromium_browser` fixture in conftest.py), a per-test session
that records every console message, page error and CSP violation of every page it opens, the admin's real
login through the forms, DOM probes for the chat, and a gateway proxy that answers 502 while the app is down."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page, expect, sync_playwright

from tests.support import ADMIN_PASSWORD, Server, wait_until

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
TIMEOUT_MS = 15_000
TITLE_RE = re.compile(r"(?:\((\d+)\) )?Sohbet")
CSP_WORDS = ("content security policy", "content-security-policy", "refused to")
expect.set_options(timeout=TIMEOUT_MS)

# Reports CSP violations through a binding (works whatever the page's CSP says; bindings are not page script).
CSP_PROBE = """
document.addEventListener("securitypolicyviolation", (e) => {
  if (window.__sohbetCsp) window.__sohbetCsp([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber].join(" "));
}, true);
"""

# Records every EventSource the page opens (htmx-ext-sse calls `new EventSource(url)` through the global).
EVENTSOURCE_PROBE = """
(() => {
  const Native = window.EventSource;
  window.__eventSources = [];
  window.EventSource = class extends Native {
    constructor(url, options) {
      super(url, options);
      window.__eventSources.push(String(url));
    }
  };
})();
"""


@contextlib.contextmanager
def launch_chromium(*extra_args: str) -> Iterator[PlaywrightBrowser]:
    """Headless Chromium with CHROMIUM_ARGS (and `extra_args`), closed on the way out."""
    with sync_playwright() as playwright:
        args = [*CHROMIUM_ARGS, *extra_args]
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    console: list[tuple[str, str, str]] = field(default_factory=list)  # (page url, type, text)
    page_errors: list[str] = field(default_factory=list)
    csp_reports: list[str] = field(default_factory=list)


class BrowserSession:
    """The browser contexts one test opens. Every page in them is watched; `assert_clean()` fails on any CSP
    violation (console or `securitypolicyviolation`), any uncaught page error, and any console error the test
    did not declare as expected."""

    def __init__(self, browser: PlaywrightBrowser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.log = PageLog()
        self.checked = False

    def new_page(self, base_url: str, *, probe_event_sources: bool = False, **options: Any) -> Page:
        options.setdefault("locale", "en-US")
        context = self.browser.new_context(base_url=base_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        if options.get("java_script_enabled", True):
            context.expose_binding("__sohbetCsp", lambda _source, report: self.log.csp_reports.append(report))
            context.add_init_script(CSP_PROBE)
            if probe_event_sources:
                context.add_init_script(EVENTSOURCE_PROBE)
        context.on("page", self._watch)
        return context.new_page()

    def _watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            self.log.console.append((page.url, message.type, message.text))

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.log.page_errors.append(f"{page.url}: {error}"))

    def problems(self, expected_console_errors: tuple[str, ...] = ()) -> list[str]:
        found = [f"CSP violation reported: {report}" for report in self.log.csp_reports]
        found += [f"page error: {error}" for error in self.log.page_errors]
        for url, kind, text in self.log.console:
            if any(word in text.lower() for word in CSP_WORDS):
                found.append(f"CSP console message on {url}: {text}")
            elif kind == "error" and not any(re.search(pattern, text) for pattern in expected_console_errors):
                found.append(f"console error on {url}: {text}")
        return found

    def assert_clean(self, expected_console_errors: tuple[str, ...] = ()) -> None:
        self.checked = True
        problems = self.problems(expected_console_errors)
        assert not problems, "browser problems:\n" + "\n".join(problems)

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Error):
                context.close()


# -- flows ---------------------------------------------------------------------------------------------------


def login_admin_page(page: Page, server: Server) -> None:
    """Log in through the real forms: /login (username + password), then the code printed on the console."""
    page.goto("/login")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    before = len(server.login_codes())
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("#code")).to_be_visible()
    code = wait_until(lambda: server.login_codes()[before:], message="login code on the console")[-1]
    page.fill("#code", code)
    page.click("form[action='/login/verify'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.locator("#threads")).to_be_attached()


def start_chat_page(page: Page, name: str) -> None:
    """Visitor with JavaScript: the start form is swapped for the chat by htmx (no page load)."""
    page.goto("/")
    mark_page(page)
    page.fill("#display_name", name)
    page.click("form[action='/chat/start'] button[type=submit]")
    expect(page.locator("#composer-text")).to_be_visible()
    expect(page.locator("#chat[sse-connect]")).to_be_attached()
    assert_not_reloaded(page)


def send(page: Page, text: str, *, enter: bool = False) -> None:
    """Type into the composer and send it (click or Enter); the composer comes back empty."""
    field = page.locator("#composer-text")
    field.fill(text)
    if enter:
        field.press("Enter")
    else:
        page.click("#composer button[type=submit]")
    expect(page.locator("#composer-text")).to_have_value("")


def mark_page(page: Page) -> None:
    """Leave a mark in the window: it survives htmx swaps and SSE updates, not a page load."""
    page.evaluate("window.__sohbetMark = 'still-here'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__sohbetMark") == "still-here", "the page was reloaded"


def message_texts(page: Page, sender: str | None = None) -> list[str]:
    selector = "#messages article" + (f"[data-sender={sender}]" if sender else "")
    return page.eval_on_selector_all(selector + " .msg-text", "nodes => nodes.map(n => n.textContent)")


def wait_for_thread(page: Page, name: str) -> int:
    """The id of the `#threads` entry whose name is exactly `name` (waits for it to appear live)."""
    handle = page.wait_for_function(
        """name => {
            const items = [...document.querySelectorAll('#threads li[id^="thread-"]')];
            const item = items.find(li => li.querySelector('.name')?.textContent === name);
            return item ? item.id : null;
        }""",
        arg=name,
        timeout=TIMEOUT_MS,
    )
    return int(handle.json_value().removeprefix("thread-"))


def unread_in_title(page: Page) -> int:
    match = TITLE_RE.fullmatch(page.title())
    assert match, f"unexpected title {page.title()!r}"
    return int(match.group(1) or 0)


def message_seqs(page: Page) -> list[int]:
    return [int(s) for s in page.eval_on_selector_all("#messages article", "ns => ns.map(n => n.dataset.seq)")]


def sse_after(page: Page, selector: str) -> int:
    value = page.get_attribute(selector, "sse-connect") or ""
    match = re.search(r"[?&]after=(\d+)", value)
    return int(match.group(1)) if match else 0


# -- a gateway in front of the app ------------------------------------------------------------------------------

BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
    b"Cache-Control: no-store\r\nConnection: close\r\n\r\nBad Gateway"
)


class Gateway:
    """A TCP reverse proxy on loopback, like the edge in front of a deployed app: it forwards each connection
    to the app and answers `502 Bad Gateway` when the app cannot be reached (or while `down` is set). A 502 on
    an EventSource request closes that EventSource for good, so htmx-ext-sse opens a new one, without
    Last-Event-ID: the path that relies on the page's `after=` cursor."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.down = False
        self.refused = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        self._thread.start()
        assert self._ready.wait(5), "gateway did not start"
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server:
                self._server.close()
            for writer in list(self._writers):
                writer.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    async def _bad_gateway(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.refused += 1
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.write(BAD_GATEWAY)
            await writer.drain()
        writer.close()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        try:
            if self.down:
                await self._bad_gateway(client_reader, client_writer)
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            except OSError:
                await self._bad_gateway(client_reader, client_writer)
                return
            self._writers.add(upstream_writer)

            async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                with contextlib.suppress(Exception):
                    while data := await reader.read(65536):
                        writer.write(data)
                        await writer.drain()

            tasks = [
                asyncio.ensure_future(pipe(client_reader, upstream_writer)),
                asyncio.ensure_future(pipe(upstream_reader, client_writer)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            for writer in (client_writer, upstream_writer):
                with contextlib.suppress(Exception):
                    writer.close()
                self._writers.discard(writer)
        finally:
            self._writers.discard(client_writer)
