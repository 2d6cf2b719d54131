"""What the server tells strangers (issue 11, defect 14): a clear JSON 401, /health details only for operators,
and CORS_ORIGINS applied to the JSON API."""

from __future__ import annotations

import httpx

from tests.support import login_admin

PUBLIC = {"X-Forwarded-For": "203.0.113.5"}  # a client behind the trusted loopback proxy: not loopback itself
TOKEN = "metrics-" + "h" * 24
APP = "https://app.example.com"


def test_a_json_401_says_to_log_in(server):
    for lang, expected in (("en", "Please log in first."), ("tr", "Önce giriş yapın.")):
        response = httpx.get(server.url + "/api/threads", headers={"Accept-Language": lang})
        assert response.status_code == 401
        body = response.json()
        assert body == {"success": False, "error": expected, "code": "unauthorized", "status": 401}


def test_health_details_only_for_loopback_the_token_or_an_admin(make_server):
    server = make_server("health-detail", METRICS_TOKEN=TOKEN)
    anonymous = httpx.get(server.url + "/health", headers=PUBLIC)
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}  # a load balancer needs no more
    for headers in ({**PUBLIC, "Authorization": "Bearer wrong-token-wrong-token"}, {**PUBLIC, "Authorization": TOKEN}):
        assert set(httpx.get(server.url + "/health", headers=headers).json()) == {"status"}
    for detailed in (
        httpx.get(server.url + "/health"),  # loopback: the host itself (`sohbet healthcheck`, a container probe)
        httpx.get(server.url + "/health", headers={**PUBLIC, "Authorization": f"Bearer {TOKEN}"}),
        login_admin(server).http.get("/health", headers=PUBLIC),
    ):
        body = detailed.json()
        assert detailed.status_code == 200 and {"version", "checks"} <= set(body), body
        assert {"disk", "memory", "streams"} <= set(body["checks"])
    # The probes stay public.
    assert httpx.get(server.url + "/health/live", headers=PUBLIC).json() == {"status": "ok"}
    assert httpx.get(server.url + "/health/ready", headers=PUBLIC).status_code == 200


def test_cors_origins_apply_to_the_json_api_only(make_server):
    server = make_server("cors", CORS_ORIGINS=APP)

    def preflight(path: str, origin: str) -> httpx.Response:
        headers = {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-csrftoken",
        }
        return httpx.options(server.url + path, headers=headers)

    listed = preflight("/api/messages/send", APP)
    assert listed.status_code == 204, listed.text
    assert listed.headers["access-control-allow-origin"] == APP
    assert listed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in listed.headers["access-control-allow-methods"]
    assert "x-csrftoken" in listed.headers["access-control-allow-headers"].lower()
    assert preflight("/admin/login", APP).status_code == 204
    unlisted = preflight("/api/messages/send", "https://evil.example")
    assert unlisted.status_code == 400 and "access-control-allow-origin" not in unlisted.headers
    # A simple request: the listed origin may read the answer, another may not.
    read = httpx.get(server.url + "/api/threads", headers={"Origin": APP})
    assert read.status_code == 401 and read.headers["access-control-allow-origin"] == APP
    other = httpx.get(server.url + "/api/threads", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    # Pages are not part of the API: no CORS headers there, even for the listed origin.
    assert "access-control-allow-origin" not in httpx.get(server.url + "/", headers={"Origin": APP}).headers
