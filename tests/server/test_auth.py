"""Admin login over HTTP: password, one-time code, sessions, timeouts, lockouts, production refusal."""

from __future__ import annotations

import httpx
import pytest

from tests.support import ADMIN_PASSWORD, Browser, login_admin, wait_until


def begin(server, browser: Browser | None = None, password: str = ADMIN_PASSWORD) -> tuple[Browser, httpx.Response]:
    admin = browser or Browser(server.url)
    admin.get("/login")
    return admin, admin.post("/login", {"username": "admin", "password": password})


def new_code(server, before: int) -> str:
    return wait_until(lambda: server.login_codes()[before:], message="a new login code")[-1]


def test_login_page(server):
    page = Browser(server.url).get("/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_wrong_credentials_are_generic_and_send_no_code(server):
    codes_before = len(server.login_codes())
    _, wrong_password = begin(server, password="not-the-password")
    admin = Browser(server.url)
    admin.get("/login")
    wrong_user = admin.post("/login", {"username": "root", "password": ADMIN_PASSWORD})
    assert wrong_password.status_code == wrong_user.status_code == 401
    assert "Wrong username or password." in wrong_password.text
    assert "Wrong username or password." in wrong_user.text
    assert len(server.login_codes()) == codes_before


def test_full_login_and_code_never_in_response(server):
    before = len(server.login_codes())
    admin, response = begin(server)
    assert response.status_code == 200 and 'name="code"' in response.text
    code = new_code(server, before)
    assert code not in response.text
    set_cookie = response.headers["set-cookie"]
    assert "sohbet_login=" in set_cookie and "HttpOnly" in set_cookie and "Path=/login" in set_cookie
    verified = admin.post("/login/verify", {"code": code})
    assert verified.status_code == 303 and verified.headers["location"] == "/admin"
    session_cookie = verified.headers["set-cookie"]
    assert "sohbet_admin=" in session_cookie and "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    dashboard = admin.get("/admin")
    assert dashboard.status_code == 200 and 'id="threads"' in dashboard.text
    assert dashboard.headers["cache-control"] == "no-store"
    assert code not in server.stderr()  # the structured log never carries it


def test_code_is_single_use_and_bound_to_the_attempt(server):
    before = len(server.login_codes())
    admin, _ = begin(server)
    code = new_code(server, before)
    # Another browser cannot use this code: it is bound to the first browser's login attempt.
    other, _ = begin(server)
    new_code(server, before + 1)
    stolen = other.post("/login/verify", {"code": code})
    assert stolen.status_code == 401
    # A browser with no attempt at all
    bare = Browser(server.url)
    bare.get("/login")
    assert bare.post("/login/verify", {"code": code}).status_code == 401
    assert admin.post("/login/verify", {"code": code}).status_code == 303
    # Replaying it (the login cookie still set by hand) fails.
    replay = Browser(server.url)
    replay.get("/login")
    replay.http.cookies.set("sohbet_login", admin.http.cookies.get("sohbet_login") or "", path="/login")
    assert replay.post("/login/verify", {"code": code}).status_code == 401


def test_sixth_wrong_code_locks_the_attempt(server):
    before = len(server.login_codes())
    admin, _ = begin(server)
    code = new_code(server, before)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = [admin.post("/login/verify", {"code": wrong}).status_code for _ in range(5)]
    assert statuses[:4] == [401, 401, 401, 401]
    assert statuses[4] == 429
    sixth = admin.post("/login/verify", {"code": code})  # even the right code is refused now
    assert sixth.status_code == 429 and "Too many wrong codes" in sixth.text
    assert admin.get("/admin").status_code == 303


def test_expired_code(make_server):
    server = make_server("expiry", LOGIN_CODE_TTL="0")
    before = len(server.login_codes())
    admin, _ = begin(server)
    code = new_code(server, before)
    response = admin.post("/login/verify", {"code": code})
    assert response.status_code == 401 and "expired" in response.text


def test_session_id_changes_at_login_and_logout_kills_it(server):
    admin = login_admin(server)
    first = admin.http.cookies.get("sohbet_admin")
    login_admin(server, admin)
    second = admin.http.cookies.get("sohbet_admin")
    assert first and second and first != second
    replay = Browser(server.url)
    replay.http.cookies.set("sohbet_admin", first)
    assert replay.get("/admin").status_code == 303  # the old session died at the new login
    assert admin.post("/logout").status_code == 303
    stolen = Browser(server.url)
    stolen.http.cookies.set("sohbet_admin", second)
    response = stolen.get("/admin")
    assert response.status_code == 303 and response.headers["location"] == "/login"


@pytest.mark.parametrize("setting", ["SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT"])
def test_session_timeouts(make_server, setting):
    server = make_server(f"timeout-{setting.lower()}", **{setting: "0"})
    admin = login_admin(server)
    response = admin.get("/admin")
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_not_logged_in_responses(server):
    anonymous = Browser(server.url)
    page = anonymous.get("/admin")
    assert page.status_code == 303 and page.headers["location"] == "/login"
    htmx = anonymous.get("/admin/threads", headers={"HX-Request": "true"})
    assert htmx.headers.get("hx-redirect") == "/login"
    as_json = anonymous.get("/admin", headers={"Accept": "application/json"})
    assert as_json.status_code == 401
    body = as_json.json()
    assert body["success"] is False and body["status"] == 401 and body["code"] == "unauthorized"


def test_login_rate_limit(make_server):
    server = make_server("login-limit", RATE_LIMIT_LOGIN="5/minute")
    client = Browser(server.url)
    client.get("/login")
    statuses = [client.post("/login", {"username": "admin", "password": "x"}).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    blocked = client.post("/login/verify", {"code": "123456"})
    assert blocked.status_code == 429
    assert "Too many requests" in blocked.text
    assert "ratelimit-limit" in {k.lower() for k in blocked.headers}


def test_production_without_code_channel_refuses_login(make_server):
    server = make_server(
        "production",
        ENVIRONMENT="production",
        SECRET_KEY="p" * 48,
        ADMIN_PASSWORD="a-very-long-production-password",
        PUBLIC_URL="https://chat.example.test",
        METRICS_TOKEN="metrics-" + "t" * 24,
    )
    page = httpx.get(server.url + "/login")
    assert page.status_code == 503
    assert "no channel is configured to deliver login codes" in page.text
    assert "strict-transport-security" in page.headers
    assert "Secure" in page.headers.get("set-cookie", "Secure")
