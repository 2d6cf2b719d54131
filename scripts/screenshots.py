"""The README's screenshots, taken from the running app so that they stay current.

Starts `sohbet serve` (development, a throw-away SQLite database in a temporary directory, loopback only), fills it
with a few conversations through the same forms a visitor and the admin use, then opens the visitor page and the
dashboard in headless Chromium and writes two 1280x800 PNGs (reduced to a 256-colour palette: a tenth of the
bytes, no visible change for a flat interface):

    .venv/bin/python scripts/screenshots.py                 # -> docs/screenshots/visitor.png, dashboard.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

Needs the test extras (`pip install -e ".[test]"`: Playwright) and Debian's Chromium at /usr/bin/chromium
(`apt-get install chromium`; never `playwright install`). The admin logs in with the one-time code that the
development server prints on its console, read here from the server's output.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
CODE_RE = re.compile(r"Login code for (\S+): (\d{6})")
# Settings a developer's shell or .env may hold that would send this throw-away server elsewhere.
FOREIGN_SETTINGS = (
    *("TELEGRAM_", "CLOUDINARY", "DATABASE_URL", "PUBLIC_URL", "EMBED_", "SECRET_KEY", "ENCRYPTION_KEYS", "ADMIN_"),
    *("DATA_DIR", "UPLOAD_DIR", "RATE_LIMIT_", "LOG_LEVEL", "ENVIRONMENT", "HOST", "PORT", "WEB_CONCURRENCY"),
)

# Who talks, and what: the first conversation is the one on both screenshots.
CONVERSATIONS = [
    (
        "Emma",
        [
            ("visitor", "Hi! I ordered the walnut desk last week. Can I still change the delivery address?"),
            ("admin", "Hello Emma, yes, it has not shipped yet. What is the new address?"),
            ("visitor", "14 Harbour Street, Bristol BS1 4RN. Same flat number."),
            ("admin", "Done: the courier has the new address. You will get the tracking link tomorrow."),
            ("visitor", "Perfect, thank you!"),
        ],
    ),
    ("Mehmet", [("visitor", "Merhaba, kargo ne zaman gelir?")]),
    ("Lucas", [("visitor", "Do you ship to Portugal?"), ("admin", "We do, in 3 to 5 working days.")]),
    ("Priya", [("visitor", "Is the oak shelf available in white?")]),
    ("Sam", [("visitor", "My discount code says expired, but the email says it runs until Sunday.")]),
]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    stdout: Path

    def login_codes(self) -> list[str]:
        return [match.group(2) for match in CODE_RE.finditer(self.stdout.read_text(errors="replace"))]


class Client:
    """A cookie jar and the CSRF token of the last page, like a browser with JavaScript off."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=15)
        self.token = ""

    def get(self, path: str) -> httpx.Response:
        response = self.http.get(path)
        match = CSRF_RE.search(response.text)
        self.token = match.group(1) if match else self.token
        return response

    def post(self, path: str, data: dict[str, str], expect: int = 303) -> httpx.Response:
        response = self.http.post(path, data={**data, "_csrf_token": self.token})
        if response.status_code != expect:
            raise SystemExit(f"screenshots: POST {path} answered {response.status_code}: {response.text[:300]}")
        match = CSRF_RE.search(response.text)
        self.token = match.group(1) if match else self.token
        return response

    def cookies(self) -> list[tuple[str, str]]:
        return [(cookie.name, cookie.value or "") for cookie in self.http.cookies.jar]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T], what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"screenshots: timed out waiting for {what}")


@contextmanager
def running_server(workdir: Path, password: str) -> Iterator[Server]:
    """`sohbet serve` from this checkout, in `workdir` (so no .env of the developer's is read)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_SETTINGS)}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "ENVIRONMENT": "development",
            "DATA_DIR": str(workdir / "data"),
            "DATABASE_URL": f"sqlite:///{workdir / 'screenshots.sqlite3'}",
            "ADMIN_USERNAME": "admin",
            "ADMIN_PASSWORD": password,
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_MESSAGES": "100000/minute",
            "RATE_LIMIT_LOGIN": "100000/minute",
            "RATE_LIMIT_START": "100000/minute",
            "START_MIN_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    stdout = workdir / "server.out"
    stderr = workdir / "server.err"
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=err)  # noqa: S603
    server = Server(f"http://127.0.0.1:{port}", process, stdout)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise SystemExit(f"screenshots: the server exited:\n{stderr.read_text(errors='replace')[-3000:]}")
            try:
                return httpx.get(server.url + "/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, "the server to be ready")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_in(server: Server, password: str) -> Client:
    admin = Client(server.url)
    admin.get("/login")
    before = len(server.login_codes())
    admin.post("/login", {"username": "admin", "password": password}, expect=200)
    code = wait_for(lambda: server.login_codes()[before:], "the login code on the server's console")[-1]
    admin.post("/login/verify", {"code": code})
    return admin


def seed(server: Server, admin: Client) -> tuple[Client, int]:
    """Every conversation of CONVERSATIONS, through the forms; the first one's visitor and its id."""
    visitors = []
    for name, messages in reversed(CONVERSATIONS):  # the first one ends up newest, at the top of the list
        visitor = Client(server.url)
        visitor.get("/")
        visitor.post("/chat/start", {"display_name": name})
        visitor.get("/")
        thread_id = 0
        for sender, text in messages:
            if sender == "visitor":
                visitor.post("/chat/messages", {"text": text})
                continue
            if not thread_id:
                threads = admin.http.get("/api/threads").json()["threads"]
                thread_id = next(t["id"] for t in threads if t["display_name"] == name)
                admin.get(f"/admin/threads/{thread_id}")
            admin.post(f"/admin/threads/{thread_id}/messages", {"text": text})
        visitors.append(visitor)
    threads = admin.http.get("/api/threads").json()["threads"]
    featured = next(t["id"] for t in threads if t["display_name"] == CONVERSATIONS[0][0])
    return visitors[-1], featured


def new_context(browser: Browser, client: Client, url: str) -> BrowserContext:
    """A desktop browser in English and light mode, holding `client`'s cookies (its conversation or session)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", color_scheme="light", reduced_motion="reduce")
    context.add_cookies([{"name": name, "value": value, "url": url} for name, value in client.cookies()])
    return context


def open_page(context: BrowserContext, url: str, *texts: str) -> Page:
    """`url`, loaded, with each of `texts` on screen (the check that the screenshot shows what it should)."""
    page = context.new_page()
    page.goto(url, wait_until="load")
    for text in texts:
        page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=15_000)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring, no caret
    return page


def save_png(page: Page, path: Path) -> int:
    """A viewport screenshot, reduced to a 256-colour palette (flat UI colours survive it) and optimised."""
    page.wait_for_timeout(600)  # the live stream's first events (presence, support status) have arrived
    raw = page.screenshot(animations="disabled", caret="hide")
    with Image.open(io.BytesIO(raw)) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette.save(path, format="PNG", optimize=True)
    return path.stat().st_size


def take(out: Path, chromium: str) -> list[tuple[Path, int]]:
    out.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    with (
        tempfile.TemporaryDirectory(prefix="sohbet-screenshots-") as tmp,
        running_server(Path(tmp), password) as server,
    ):
        admin = log_in(server, password)
        visitor, featured = seed(server, admin)
        first_name, first_messages = CONVERSATIONS[0]
        last_text = first_messages[-1][1]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                admin_context = new_context(browser, admin, server.url)
                visitor_context = new_context(browser, visitor, server.url)
                # A dashboard tab open first: the visitor page then says support is online.
                open_page(admin_context, f"{server.url}/admin", first_name)
                visitor_page = open_page(visitor_context, server.url + "/", last_text)
                shots = [(out / "visitor.png", visitor_page)]
                # The visitor's page is open: the dashboard shows the conversation with the visitor online.
                dashboard = open_page(admin_context, f"{server.url}/admin/threads/{featured}", last_text, "Priya")
                shots.append((out / "dashboard.png", dashboard))
                return [(path, save_png(page, path)) for path, page in shots]
            finally:
                browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default: {OUT.relative_to(ROOT)})")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"the Chromium executable (default: {CHROMIUM})")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        sys.stderr.write(f"screenshots: no Chromium at {args.chromium} (apt-get install chromium)\n")
        return 2
    for path, size in take(args.out, args.chromium):
        print(f"{path}: {size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
