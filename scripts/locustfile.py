"""Load scenario for Sohbet with locust (not a project dependency: `pip install locust` in a scratch venv).

Visitors open the page, start a conversation and send messages at a bounded rate; admins read the conversation
list and the messages of one conversation through the JSON API. Loopback only: the scenario refuses any host other
than 127.0.0.1 / localhost / [::1], so it cannot be pointed at a real deployment by mistake.

Bounded run (50 users, 10 started per second, one minute):

    locust -f scripts/locustfile.py --headless -u 50 -r 10 -t 1m --host http://127.0.0.1:8000

Start the server with limits that let the load through, e.g.

    RATE_LIMIT_MESSAGES=100000/minute RATE_LIMIT_API=100000/minute RATE_LIMIT_START=100000/minute \
    START_MIN_SECONDS=0 .venv/bin/sohbet serve

(otherwise most visitor posts get 429 — which locust reports as failures — after 10 messages a minute per visitor
and 5 conversation starts an hour from 127.0.0.1, and starts are refused as a bot's for the first 2 seconds).

Admins: logging in needs the one-time code printed on the server console, which a load generator cannot read, so
log in once by hand and pass the session cookie:

    1. open http://127.0.0.1:8000/login in a browser and log in (the code is in the server's console);
    2. copy the value of the `sohbet_admin` cookie (developer tools -> Storage/Application -> Cookies);
    3. ADMIN_COOKIE=<value> locust -f scripts/locustfile.py ...

(or script it: POST /admin/login {username, password} with the `x-csrftoken` header, read the code from the
server log, POST /admin/verify-otp {otp}, and take `sohbet_admin` from the answer). Without ADMIN_COOKIE the admin
users do nothing. Admin sessions expire after SESSION_IDLE_TIMEOUT (30 min) of inactivity.

Each visitor sends at most MESSAGES_PER_VISITOR messages, one every 1-3 seconds, then only reads its page.
"""

from __future__ import annotations

import os
import random
import re
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
MESSAGES_PER_VISITOR = 30


def require_loopback(host: str | None) -> None:
    name = urlsplit(host or "").hostname
    if name not in LOOPBACK:
        raise SystemExit(f"locustfile: refusing host {host!r}: this scenario only runs against 127.0.0.1/localhost")


@events.init.add_listener
def _check_host(environment, **_kwargs) -> None:
    require_loopback(environment.host)


class Visitor(HttpUser):
    """Opens the page, starts a conversation, sends up to MESSAGES_PER_VISITOR messages, re-reads the page."""

    weight = 9
    wait_time = between(1, 3)

    def on_start(self) -> None:
        require_loopback(self.host)
        self.sent = 0
        self.csrf = ""
        page = self.client.get("/", name="GET /")
        self._remember_csrf(page.text)
        started = self.client.post(
            "/chat/start",
            data={"display_name": f"load-{random.randrange(10**6)}", "_csrf_token": self.csrf},
            allow_redirects=False,
            name="POST /chat/start",
        )
        self._remember_csrf(started.text)

    def _remember_csrf(self, html: str) -> None:
        match = CSRF_RE.search(html or "")
        if match:
            self.csrf = match.group(1)

    @task(3)
    def send_message(self) -> None:
        if self.sent >= MESSAGES_PER_VISITOR:
            self.read_page()
            return
        self.sent += 1
        with self.client.post(
            "/chat/messages",
            data={"text": f"message {self.sent}", "_csrf_token": self.csrf},
            allow_redirects=False,
            name="POST /chat/messages",
            catch_response=True,
        ) as response:
            if response.status_code == 303:
                response.success()
            else:
                response.failure(f"status {response.status_code}")

    @task(1)
    def read_page(self) -> None:
        page = self.client.get("/", name="GET /")
        self._remember_csrf(page.text)


class Admin(HttpUser):
    """Reads the conversation list and one conversation's latest messages through the JSON API."""

    weight = 1
    wait_time = between(2, 5)

    def on_start(self) -> None:
        require_loopback(self.host)
        self.cookie = os.environ.get("ADMIN_COOKIE", "")
        if self.cookie:
            self.client.cookies.set("sohbet_admin", self.cookie)
        self.thread_ids: list[int] = []

    @task(2)
    def list_threads(self) -> None:
        if not self.cookie:
            return
        response = self.client.get("/api/threads", headers={"Accept": "application/json"}, name="GET /api/threads")
        if response.status_code == 200:
            self.thread_ids = [thread["id"] for thread in response.json().get("threads", [])][:50]

    @task(3)
    def read_messages(self) -> None:
        if not self.cookie or not self.thread_ids:
            return
        thread = random.choice(self.thread_ids)
        self.client.get(
            f"/api/messages/{thread}",
            params={"limit": 50},
            headers={"Accept": "application/json"},
            name="GET /api/messages/<id>",
        )
