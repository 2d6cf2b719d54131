"""Who the client is behind proxies (issue 11, defect 6) and which Host names are served (defect 8)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from tests import serve

sohbet_serve = serve.sohbet_serve  # a fixture

LIMIT = 3


def api_status(url: str, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.get(url + "/api/threads", headers=headers, timeout=10).status_code


# -- defect 6: client addresses -----------------------------------------------------------------------------


def test_a_client_s_own_forwarded_for_entries_do_not_escape_a_limit_behind_one_proxy(sohbet_serve):
    """Railway's case: any peer is the proxy ('*'), and it appends the address it saw. The client's own
    leftmost entries (a new one on every request) must not give it a new rate-limit identity."""
    base = sohbet_serve("--forwarded-allow-ips", "*", RATE_LIMIT_API=f"{LIMIT}/minute").url
    statuses = [api_status(base, f"198.51.100.{i}, 203.0.113.7") for i in range(LIMIT + 2)]
    assert statuses[:LIMIT] == [401] * LIMIT and statuses[LIMIT:] == [429, 429], statuses
    # Another real client (another rightmost address) has its own budget.
    assert api_status(base, "203.0.113.8") == 401


def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client(make_server):
    server = make_server(
        "proxied",
        FORWARDED_ALLOW_IPS="127.0.0.1,10.0.0.0/8",
        RATE_LIMIT_API=f"{LIMIT}/minute",
        ENVIRONMENT="development",
    )
    # Client 203.0.113.7 behind two of our proxies (10.0.0.2 appended by the outer one); its leftmost lies vary.
    chain = [api_status(server.url, f"192.0.2.{i}, 203.0.113.7, 10.0.0.2") for i in range(LIMIT + 1)]
    assert chain == [401] * LIMIT + [429], chain
    # A different client behind the same proxies is not refused with it...
    assert api_status(server.url, "203.0.113.9, 10.0.0.2") == 401
    # ... nor is the proxy host itself, asking without a forwarded address.
    assert api_status(server.url, None) == 401


def test_forwarded_for_from_an_untrusted_peer_is_ignored(make_server):
    server = make_server("direct", FORWARDED_ALLOW_IPS="10.0.0.1", RATE_LIMIT_API=f"{LIMIT}/minute")
    statuses = [api_status(server.url, f"198.51.100.{i}") for i in range(LIMIT + 1)]
    assert statuses == [401] * LIMIT + [429], statuses


def test_production_needs_metrics_token_and_public_url():
    from app.settings import Settings, SettingsError

    env = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": "s" * 48,
        "ENCRYPTION_KEYS": "x" * 43 + "=",
        "ADMIN_PASSWORD": "long-enough-password-1",
        "PUBLIC_URL": "https://chat.example.com",
        "METRICS_TOKEN": "m" * 24,
    }
    from cryptography.fernet import Fernet

    env["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    Settings.from_env(env)
    for name in ("METRICS_TOKEN", "PUBLIC_URL"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({k: v for k, v in env.items() if k != name})
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS"):
        Settings.from_env({**env, "FORWARDED_ALLOW_IPS": "10.0.0.0/8,not-an-ip"})


# -- defect 8: the Host header ---------------------------------------------------------------------------------


def test_a_forged_host_is_refused_and_cannot_make_its_origin_trusted(make_server):
    server = make_server("hosts", PUBLIC_URL="https://chat.example.test")
    evil = {"Host": "evil.example"}
    refused = httpx.get(server.url + "/", headers=evil)
    assert refused.status_code == 400
    assert "text/html" in refused.headers["content-type"]
    api = httpx.get(server.url + "/api/threads", headers=evil)
    assert api.status_code == 400 and api.json()["code"] == "bad_request"
    # Probes from a platform use their own host names: the public health checks answer any Host.
    assert httpx.get(server.url + "/health/live", headers=evil).status_code == 200
    assert httpx.get(server.url + "/health/ready", headers=evil).status_code == 200
    # The review's reproduction: the widget's link with a page on the forged host.
    planted = httpx.get(
        server.url + "/?" + urlencode({"src": "embed", "url": "http://evil.example/login"}), headers=evil
    )
    assert planted.status_code == 400 and "evil.example/login" not in planted.text


def test_in_production_only_public_url_is_sohbet_s_own_origin(make_server):
    """Reached by an allowed loopback name (a probe on the host), the page URL on that name is not trusted."""
    server = make_server(
        "hosts-prod",
        ENVIRONMENT="production",
        SECRET_KEY="p" * 48,
        ADMIN_PASSWORD="long-enough-password-1",
        PUBLIC_URL="https://chat.example.test",
        METRICS_TOKEN="metrics-" + "t" * 24,
    )
    own = httpx.get(server.url + "/?" + urlencode({"src": "embed", "url": f"{server.url}/x"})).text
    assert 'name="source_url"' not in own
    public = httpx.get(server.url + "/?" + urlencode({"src": "embed", "url": "https://chat.example.test/x"})).text
    assert 'name="source_url" value="https://chat.example.test/x"' in public
    assert httpx.get(server.url + "/", headers={"Host": "evil.example"}).status_code == 400


def test_development_serves_loopback_names_and_allowed_hosts(make_server):
    server = make_server("named", ALLOWED_HOSTS="chat.internal,*.example.org")
    for host in ("chat.internal", "a.example.org", "chat.internal:8443"):
        assert httpx.get(server.url + "/", headers={"Host": host}).status_code == 200, host
    assert httpx.get(server.url + "/", headers={"Host": "example.org.evil"}).status_code == 400
    assert httpx.get(server.url + "/", headers={"Host": "127.0.0.1"}).status_code == 400  # not listed
