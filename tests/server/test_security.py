"""SPEC §4 security rules, each with a test that fails if the rule is broken."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from tests.support import ROOT, Browser, base_env, create_database, login_admin, migrate, start_visitor

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def csp_of(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else "" for part in policy.split("; ")}


# -- headers -----------------------------------------------------------------------------------------------


def test_strict_csp_and_headers_on_every_kind_of_response(server):
    admin = login_admin(server)
    responses = {
        "page": httpx.get(server.url + "/"),
        "login": httpx.get(server.url + "/login"),
        "admin": admin.get("/admin"),
        "404": httpx.get(server.url + "/no/such/page"),
        "static": httpx.get(server.url + "/static/app.js"),
        "health": httpx.get(server.url + "/health/live"),
        "405": httpx.put(server.url + "/"),
    }
    for name, response in responses.items():
        csp = csp_of(response)
        assert csp["default-src"] == "'self'", name
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'", name
        assert csp["frame-ancestors"] == "'self'", name
        assert "unsafe-inline" not in response.headers["content-security-policy"], name
        assert "unsafe-eval" not in response.headers["content-security-policy"], name
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["referrer-policy"], name
        assert "strict-transport-security" not in response.headers, name  # development: no HSTS
    assert responses["admin"].headers["cache-control"] == "no-store"
    assert responses["404"].status_code == 404 and "Not found" in responses["404"].text


def test_frame_ancestors_lists_embed_origins(make_server):
    server = make_server("embed", EMBED_ORIGINS="https://shop.example.com,https://www.example.org")
    csp = csp_of(httpx.get(server.url + "/"))
    assert csp["frame-ancestors"] == "'self' https://shop.example.com https://www.example.org"


def test_hsts_and_secure_cookies_in_production(make_server):
    server = make_server(
        "prod-headers",
        ENVIRONMENT="production",
        SECRET_KEY="q" * 48,
        ADMIN_PASSWORD="long-enough-password-1",
        PUBLIC_URL="https://chat.example.test",
        METRICS_TOKEN="metrics-" + "t" * 24,
    )
    response = httpx.get(server.url + "/")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "Secure" in response.headers["set-cookie"]  # the CSRF cookie
    visitor = Browser(server.url)
    page = visitor.get("/")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    started = httpx.post(
        server.url + "/chat/start",
        data={"display_name": "P", "_csrf_token": token},
        cookies={"csrftoken": page.cookies.get("csrftoken")},
    )
    assert started.status_code == 303
    assert all("Secure" in c for c in started.headers.get_list("set-cookie"))


@pytest.mark.parametrize(
    "variable,value", [("SECRET_KEY", "short"), ("ADMIN_PASSWORD", "admin"), ("ENCRYPTION_KEYS", "not-a-key")]
)
def test_production_refuses_weak_secrets(tmp_path, variable, value):
    env = {
        **os.environ,
        **base_env(tmp_path, f"sqlite:///{tmp_path}/x.sqlite3"),
        "ENVIRONMENT": "production",
        "SECRET_KEY": "s" * 48,
        "ADMIN_PASSWORD": "long-enough-password-1",
        "PUBLIC_URL": "https://chat.example.test",
        "METRICS_TOKEN": "metrics-" + "t" * 24,
    }
    env[variable] = value
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert variable in result.stderr


# -- CSRF --------------------------------------------------------------------------------------------------

UNSAFE_ROUTES = ["/chat/start", "/chat/messages", "/chat/end", "/login", "/login/verify", "/logout", "/admin/clear-all"]


@pytest.mark.parametrize("path", UNSAFE_ROUTES)
def test_csrf_missing_or_forged_is_refused(server, path):
    browser = Browser(server.url)
    browser.get("/")
    missing = browser.post(path, {"display_name": "x", "text": "x"}, csrf=False)
    assert missing.status_code == 403, path
    forged = browser.http.post(path, data={"_csrf_token": "0" * 128, "text": "x"})
    assert forged.status_code == 403, path
    # a valid token from another browser does not match this browser's cookie
    other = Browser(server.url)
    other.get("/")
    crossed = browser.http.post(path, data={"_csrf_token": other.csrf_token, "text": "x"})
    assert crossed.status_code == 403, path
    as_json = browser.http.post(path, data={"text": "x"}, headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and as_json.json()["code"] == "csrf_failed"


def test_csrf_on_admin_routes_with_a_live_session(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Csrf")
    visitor.post("/chat/messages", {"text": "keep me"})
    thread = re.search(r'<li id="thread-(\d+)"', admin.get("/admin").text).group(1)
    for path in (f"/admin/threads/{thread}/messages", f"/admin/threads/{thread}/clear", "/admin/clear-all"):
        response = admin.http.post(path, data={"text": "x", "confirm": "yes"})
        assert response.status_code == 403, path
    assert "keep me" in visitor.get("/").text  # nothing was cleared


# -- visitor isolation ---------------------------------------------------------------------------------


def test_visitor_cannot_reach_admin_or_other_conversations(server):
    alice = start_visitor(server.url, "AliceIso")
    alice.post("/chat/messages", {"text": "alice private"})
    bob = start_visitor(server.url, "BobIso")
    for path in ("/admin", "/admin/threads/1", "/admin/threads", "/admin/events"):
        response = bob.get(path)
        assert response.status_code in (204, 303), path
        assert "alice private" not in response.text
    assert bob.post("/admin/threads/1/messages", {"text": "x"}).status_code == 303
    assert "alice private" not in bob.get("/").text
    # A tampered cookie (Alice's token with a wrong signature) grants nothing.
    token = alice.http.cookies.get("sohbet_visitor").rsplit(".", 1)[0]
    mallory = Browser(server.url)
    mallory.http.cookies.set("sohbet_visitor", token + ".0123456789abcdef0123456789abcdef")
    assert "alice private" not in mallory.get("/").text
    unsigned = Browser(server.url)
    unsigned.http.cookies.set("sohbet_visitor", token)
    assert "alice private" not in unsigned.get("/").text
    cookie = alice.http.cookies.get("sohbet_visitor")
    assert len(cookie) > 40  # random token, not a conversation id


def test_output_is_escaped(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, HOSTILE[:50])
    visitor.post("/chat/messages", {"text": HOSTILE + " https://example.com/x?a=1&b=2 javascript:alert(1)"})
    for page in (
        visitor.get("/").text,
        admin.get("/admin").text,
        admin.get("/admin/threads/" + re.search(r'<li id="thread-(\d+)"', admin.get("/admin").text).group(1)).text,
    ):
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
    page = visitor.get("/").text
    assert '<a href="https://example.com/x?a=1&amp;b=2" rel="noopener nofollow noreferrer"' in page
    assert 'href="javascript' not in page


# -- encryption at rest -----------------------------------------------------------------------------------


def stored_bodies(url: str) -> list[str]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            bodies = [row[0] for row in db.execute("SELECT body FROM message")]
            previews = [row[0] for row in db.execute("SELECT last_preview FROM conversation")]
        return bodies + previews

    async def fetch() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            bodies = [r["body"] for r in await conn.fetch("SELECT body FROM message")]
            previews = [r["last_preview"] for r in await conn.fetch("SELECT last_preview FROM conversation")]
            return bodies + previews
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_messages_encrypted_at_rest_and_keys_rotate(make_server, tmp_path):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = create_database(tmp_path)
    env = base_env(tmp_path, url)
    migrate(url, env)
    first = make_server("rotate-old", DATABASE_URL=url, ENCRYPTION_KEYS=old_key, DATA_DIR=str(tmp_path / "d1"))
    visitor = start_visitor(first.url, "Cipher")
    visitor.post("/chat/messages", {"text": "my card ends 4242"})
    first.stop()
    bodies = stored_bodies(url)
    assert bodies and all("4242" not in body for body in bodies)
    assert Fernet(old_key.encode()).decrypt(bodies[0].encode()) == b"my card ends 4242"
    rotated = make_server(
        "rotate-new", DATABASE_URL=url, ENCRYPTION_KEYS=f"{new_key},{old_key}", DATA_DIR=str(tmp_path / "d2")
    )
    again = Browser(rotated.url)
    again.http.cookies.set("sohbet_visitor", visitor.http.cookies.get("sohbet_visitor"))
    assert "my card ends 4242" in again.get("/").text  # old messages still readable
    again.post("/chat/messages", {"text": "new secret 5555"})
    newest = [b for b in stored_bodies(url) if b][-1]
    assert "5555" not in newest
    rotated.stop()


# -- rate limits -----------------------------------------------------------------------------------------


def test_message_rate_limit_per_visitor(make_server):
    server = make_server("msg-limit", RATE_LIMIT_MESSAGES="3/minute")
    noisy = start_visitor(server.url, "Noisy")
    statuses = [noisy.post("/chat/messages", {"text": f"m{i}"}).status_code for i in range(4)]
    assert statuses == [303, 303, 303, 429]
    limited = noisy.post("/chat/messages", {"text": "again"}, htmx=True)
    assert limited.status_code == 429 and "Too many requests" in limited.text
    as_json = noisy.http.post(
        "/chat/messages", data={"text": "x", "_csrf_token": noisy.csrf_token}, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 429 and as_json.json()["code"] == "rate_limited"
    quiet = start_visitor(server.url, "Quiet")  # another visitor is not affected
    assert quiet.post("/chat/messages", {"text": "hello"}).status_code == 303


# -- logs ------------------------------------------------------------------------------------------------


def test_logs_are_json_lines_without_secrets(make_server):
    server = make_server("logs")
    admin = login_admin(server)
    visitor = start_visitor(server.url, 'Evil\n{"level":"CRITICAL","forged":true}')
    visitor.post("/chat/messages", {"text": "super secret message text"})
    admin.get("/admin")
    server.stop()
    stderr = server.stderr()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines
    for line in lines:
        if line.startswith(("INFO:", "WARNING:", "ERROR:")):  # uvicorn's own start/stop lines
            continue
        entry = json.loads(line)
        assert isinstance(entry, dict) and "forged" not in entry
    for secret in (
        "super secret message text",
        "correct-horse-battery-staple",
        admin.http.cookies.get("sohbet_admin"),
        visitor.http.cookies.get("sohbet_visitor"),
        *server.login_codes(),
    ):
        assert secret not in stderr
    assert "super secret message text" not in server.stdout()
