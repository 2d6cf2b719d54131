"""Every admin route against every kind of caller (SPEC §8 Permissions), listed from the app itself so that a new
route is covered the day it is added: each /admin and /api handler of `create_app`, each of its methods, tried as
the owner, an agent, a disabled agent (the session from before it was disabled), a logged-out browser and a
visitor (the visitor's session cookie only).

Expectations: the owner is never refused; an agent is refused (403) exactly the owner-only routes below; every
other caller is sent to /login (303 for HTML, 401 for /api JSON). The admin event stream refuses with 204, which
tells an EventSource to stop reconnecting (a redirect would have it retry against the login page forever).
After every refusal nothing changed in the database: the rows of the tables below are compared before and after
each refused request (a refusal writes no audit row either: the audit log records what was done, not what was
turned away, and failed logins have their own route). One column is left out: an agent's session's last_seen_at,
which any request of a signed-in agent may move (the idle timeout), refused or not.

One server for the module: refusals change nothing, and the allowed calls (the agent's, then the owner's, with
empty forms) run after every refusal, destructive ones last."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from app import create_app
from app.settings import Settings
from tests.server.test_team import PASSWORD, agent_session
from tests.support import ADMIN_PASSWORD, Browser, Server, find_thread, login_admin, start_visitor

# SPEC §8: only owners manage the team, clear everything, change workspace settings and read the audit log; §11:
# owners manage blocks (agents block a conversation's visitor) and erase by email.
OWNER_ONLY = re.compile(
    r"^/admin/team(/|$)|^/admin/clear-all$|^/admin/settings$|^/admin/audit$|^/api/audit$|^/admin/blocks(/|$)|^/admin/privacy$"
)
# The JSON login (SPEC §2): public by design, like /login.
PUBLIC = {"/admin/login", "/admin/verify-otp"}
STREAMS = {"/admin/events"}
TABLES = {
    **{
        table: "*"
        for table in (
            "conversation",
            "message",
            "agent",
            "workspace_setting",
            "audit_event",
            "attachment",
            "canned_reply",
            "conversation_label",
            "resolution",
            "rating",
            "visitor_block",
            "visitor_address",
            "search_term",
        )
    },
    "admin_session": "id, token_hash, username, created_at",  # not last_seen_at: a signed-in agent is active
}
FORM = {  # what an attacker would send: enough for each form to act if the guard let it through
    "text": "sneaked in",
    "status": "resolved",
    "agent": "me",
    "confirm": "yes",
    "username": "sneaky",
    "display_name": "Sneaky",
    "role": "owner",
    "site_name": "Taken over",
    "current_password": "x",
    "new_password": "a long and fine password 8",
    "code": "123456",
    "shortcut": "sneaky",
    "label": "sneaky",
    "action": "add",
}


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # as the app declares it, e.g. /admin/threads/{thread_id:int}

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    def path(self, values: dict[str, str]) -> str:
        return re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], self.template)


def admin_routes(env: dict[str, str]) -> list[Route]:
    """Each (method, path) of the app under /admin or /api, but for the public JSON login and CORS preflights."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        app = create_app(Settings.from_env())  # builds routes and services; binds no database until start-up
    finally:
        os.environ.clear()
        os.environ.update(saved)
    found = {
        Route(method, route.path)
        for route in app.routes
        for handler in route.route_handlers
        for method in getattr(handler, "http_methods", ())
        if method != "OPTIONS" and route.path.startswith(("/admin", "/api/")) and route.path not in PUBLIC
    }
    return sorted(found, key=lambda r: ("clear" in r.template, r.template, r.method))


@dataclass
class Cast:
    server: Server
    owner: Browser
    agent: Browser
    disabled: Browser
    logged_out: Browser
    visitor: Browser
    values: dict[str, str]
    routes: list[Route]


@pytest.fixture(scope="module")
def cast(server: Server) -> Iterator[Cast]:
    owner = login_admin(server)
    agent = agent_session(server, owner, "kim", "Kim")
    disabled = agent_session(server, owner, "lee", "Lee")
    owner.get("/admin/team")
    assert owner.post("/admin/team/lee/disable").status_code == 303
    visitor = start_visitor(server.url, "Matrix")
    assert visitor.post("/chat/messages", {"text": "hello"}).status_code == 303
    thread = find_thread(owner, "Matrix")
    assert agent.post(f"/admin/threads/{thread}/messages", {"text": "a reply"}).status_code == 303
    logged_out = Browser(server.url)
    logged_out.get("/login")
    assert logged_out.csrf_token and disabled.csrf_token and visitor.csrf_token
    assert owner.post("/admin/blocks", {"network": "203.0.113.0/24", "duration": "7d"}).status_code == 303
    block_id = re.findall(r'id="block-(\d+)"', owner.get("/admin/blocks").text)[0]
    values = {
        "thread_id": str(thread),
        "username": "kim",
        "action": "disable",
        "shortcut": "greet",
        "block_id": block_id,
    }
    yield Cast(server, owner, agent, disabled, logged_out, visitor, values, admin_routes(server.env))
    for browser in (owner, agent, disabled, logged_out, visitor):
        browser.close()


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Per table: the row count and a hash of every row, in id order (one connection: it runs ~300 times)."""
    queries = {table: f"SELECT {columns} FROM {table} ORDER BY id" for table, columns in TABLES.items()}
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            results = {table: conn.execute(query).fetchall() for table, query in queries.items()}
    else:

        async def fetch() -> dict[str, list]:
            conn = await asyncpg.connect(url)
            try:
                return {table: [tuple(row) for row in await conn.fetch(query)] for table, query in queries.items()}
            finally:
                await conn.close()

        results = asyncio.run(fetch())
    return {table: (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()) for table, rows in results.items()}


def call(browser: Browser, route: Route, values: dict[str, str], form: dict[str, str]) -> httpx.Response:
    """One request as a browser (form and CSRF token) or an API client (JSON and the X-CSRFToken header); a stream
    is closed as soon as its headers are in."""
    path = route.path(values)
    headers = {"x-csrftoken": browser.csrf_token}
    kwargs: dict = {"headers": headers}
    if route.method == "POST":
        if route.is_api:
            kwargs["json"] = {"thread_id": int(values["thread_id"]), **form}
            headers["Accept"] = "application/json"
        else:
            kwargs["data"] = {**form, "_csrf_token": browser.csrf_token}
    with browser.http.stream(route.method, path, **kwargs) as response:
        if route.template not in STREAMS:
            response.read()
        return response


def test_the_app_has_admin_routes_to_check(cast: Cast):
    templates = {route.template for route in cast.routes}
    # a sample the matrix must hold (the listing itself comes from the app, so new routes join by themselves)
    assert {"/admin", "/admin/team", "/admin/clear-all", "/api/threads", "/api/audit", "/admin/events"} <= templates
    assert any(OWNER_ONLY.match(template) for template in templates)
    assert len(cast.routes) > 30


@pytest.mark.parametrize("who", ["logged_out", "disabled", "visitor", "agent"])
def test_refusals_change_nothing(cast: Cast, who: str):
    browser: Browser = getattr(cast, who)
    url = cast.server.env["DATABASE_URL"]
    refused = 0
    problems = []
    for route in cast.routes:
        if who == "agent" and not OWNER_ONLY.match(route.template):
            continue
        before = snapshot(url)
        response = call(browser, route, cast.values, FORM)
        where = f"{who} {route.method} {route.template}: {response.status_code}"
        if who == "agent":
            expected = response.status_code == 403
        elif route.template in STREAMS:
            expected = response.status_code == 204
        elif route.is_api:
            expected = response.status_code == 401 and response.json()["code"] == "unauthorized"
        else:
            expected = response.status_code == 303 and response.headers.get("location") == "/login"
        if not expected:
            problems.append(f"{where} {response.headers.get('location', '')}")
        changed = sorted(table for table, state in snapshot(url).items() if before[table] != state)
        if changed:
            problems.append(f"{where}: {', '.join(changed)} changed")
        refused += 1
    assert not problems, "\n".join(problems)
    assert refused >= (4 if who == "agent" else 30)


@pytest.mark.parametrize("who", ["agent", "owner"])
def test_the_team_is_let_through(cast: Cast, who: str):
    browser: Browser = getattr(cast, who)
    values = {**cast.values, "username": "lee", "action": "enable"}
    passwords = {"agent": PASSWORD, "owner": ADMIN_PASSWORD}
    problems = []
    for route in cast.routes:
        if who == "agent" and OWNER_ONLY.match(route.template):
            continue
        response = call(browser, route, values, {"current_password": passwords[who]})  # a wrong one is a 403
        refused = response.status_code in (401, 403, 404) or response.headers.get("location") == "/login"
        if refused or response.status_code >= 500:
            problems.append(f"{who} {route.method} {route.template}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert browser.get("/admin").status_code == 200  # still signed in
