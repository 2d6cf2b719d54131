"""GET /metrics against real servers: Prometheus text that parses, request counts by route template (never raw
ids), the SSE stream gauge, stored messages, the delivery-latency histogram, rate-limit refusals, and who may read
it in production. Plus the registry's own rendering (Telegram calls, label escaping)."""

from __future__ import annotations

import itertools
import math
import re
import time
from dataclasses import dataclass, field

import httpx
import pytest

from app.services.metrics import LATENCY_BUCKETS, Metrics
from tests.streams import open_reader
from tests.support import find_thread, login_admin, start_visitor, wait_until

# -- a small parser for the text exposition format 0.0.4 -----------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
TYPE_RE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
HELP_RE = re.compile(rf"^# HELP ({NAME}) .*$")


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = LABEL_RE.match(text, position)
        assert match, f"bad labels {text!r}"
        labels[match.group(1)] = unescape(match.group(2))
        position = match.end()
    return labels


@dataclass
class Exposition:
    types: dict[str, str] = field(default_factory=dict)
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def find(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        return [(lab, v) for n, lab, v in self.samples if n == name and all(lab.get(k) == x for k, x in labels.items())]

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels; 0 when absent (a counter not incremented yet)."""
        found = [v for lab, v in self.find(name, **labels) if lab == labels]
        assert len(found) <= 1, f"{name}{labels} appears {len(found)} times"
        return found[0] if found else 0.0


def parse(text: str) -> Exposition:
    """Every line is HELP, TYPE or a sample; every sample belongs to a declared family; values are numbers."""
    assert text.endswith("\n")
    exposition = Exposition()
    for line in text.splitlines():
        if line.startswith("#"):
            typed = TYPE_RE.match(line)
            assert typed or HELP_RE.match(line), f"bad comment line {line!r}"
            if typed:
                assert typed.group(1) not in exposition.types, f"TYPE twice for {typed.group(1)}"
                exposition.types[typed.group(1)] = typed.group(2)
            continue
        match = SAMPLE_RE.match(line)
        assert match, f"bad sample line {line!r}"
        name, labels, raw = match.group(1), parse_labels(match.group(2) or ""), match.group(3)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in exposition.types or exposition.types.get(family) == "histogram", f"{name} has no TYPE"
        exposition.samples.append((name, labels, float(raw.replace("+Inf", "inf"))))
    return exposition


def scrape(url: str, **kwargs) -> Exposition:
    response = httpx.get(url + "/metrics", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def streams_open(url: str, audience: str) -> float:
    return scrape(url).value("sohbet_sse_streams_open", audience=audience)


def histogram(exposition: Exposition, name: str) -> tuple[list[tuple[float, float]], float, float]:
    buckets = sorted((float(lab["le"].replace("+Inf", "inf")), v) for lab, v in exposition.find(name + "_bucket"))
    return buckets, exposition.value(name + "_count"), exposition.value(name + "_sum")


# -- against a server --------------------------------------------------------------------------------------


def test_metrics_follow_visitor_and_admin_activity(server):
    before = scrape(server.url)
    assert before.value("sohbet_info", version=before.find("sohbet_info")[0][0]["version"]) == 1
    assert 0 < before.value("process_start_time_seconds") <= time.time()
    assert before.types["sohbet_delivery_latency_seconds"] == "histogram"
    assert before.value("sohbet_sse_streams_open", audience="visitor") == 0
    assert before.value("sohbet_sse_streams_open", audience="admin") == 0

    visitor = start_visitor(server.url, "Metrik")
    admin = login_admin(server)
    thread = find_thread(admin, "Metrik")
    assert visitor.post("/chat/messages", {"text": "before any stream"}).status_code == 303

    visitor_reader = open_reader(server.url, "/chat/events", visitor.http.cookies)
    admin_reader = open_reader(server.url, f"/admin/events?thread={thread}", admin.http.cookies)
    try:
        assert streams_open(server.url, "visitor") == 1 and streams_open(server.url, "admin") == 1
        visitor_reader.wait_for_messages(1)
        admin_reader.wait_for_messages(1)
        live_before = scrape(server.url).value("sohbet_delivery_latency_seconds_count")
        assert visitor.post("/chat/messages", {"text": "live one"}).status_code == 303
        assert admin.post(f"/admin/threads/{thread}/messages", {"text": "live reply"}).status_code == 303
        visitor_reader.wait_for_messages(3)
        admin_reader.wait_for_messages(3)
        # Two live messages, each written to two streams: up to four samples (catch-up of "before any stream" is
        # none; a stream that another event happens to wake first catches a message up unsampled).
        wait_until(
            lambda: scrape(server.url).value("sohbet_delivery_latency_seconds_count") >= live_before + 2,
            message="delivery samples",
        )
        assert scrape(server.url).value("sohbet_delivery_latency_seconds_count") <= live_before + 4
    finally:
        visitor_reader.close()
        admin_reader.close()
    wait_until(lambda: streams_open(server.url, "visitor") == 0, message="visitor stream gauge back to 0")
    wait_until(lambda: streams_open(server.url, "admin") == 0, message="admin stream gauge back to 0")

    assert admin.get(f"/api/messages/{thread}").status_code == 200
    assert admin.get(f"/admin/threads/{thread}").status_code == 200
    assert httpx.get(server.url + "/no/such/page/424242").status_code == 404

    after = scrape(server.url)
    stored = {s: after.value("sohbet_messages_stored_total", sender=s) for s in ("visitor", "admin")}
    assert stored["visitor"] - before.value("sohbet_messages_stored_total", sender="visitor") == 2
    assert stored["admin"] - before.value("sohbet_messages_stored_total", sender="admin") == 1
    assert after.value("sohbet_sse_streams_opened_total", audience="visitor") >= 1

    # Requests by route template, never by raw path.
    requests = "sohbet_http_requests_total"
    assert after.value(requests, route="/api/messages/{thread_id}", method="GET", status="200") >= 1
    assert after.value(requests, route="/admin/threads/{thread_id}", method="GET", status="200") >= 1
    assert after.value(requests, route="/admin/threads/{thread_id}/messages", method="POST", status="303") >= 1
    assert after.value(requests, route="/chat/messages", method="POST", status="303") >= 2
    assert after.value(requests, route="/chat/events", method="GET", status="200") >= 1
    assert after.value(requests, route="unmatched", method="GET", status="404") >= 1
    routes = {labels["route"] for labels, _ in after.find(requests)}
    assert not any(re.search(r"/\d+(/|$)", route) for route in routes), routes
    assert all(route == "unmatched" or route.startswith("/") for route in routes)

    # The histogram: cumulative buckets, +Inf equal to the count, every configured bound present.
    buckets, count, total = histogram(after, "sohbet_delivery_latency_seconds")
    assert [bound for bound, _ in buckets] == [*LATENCY_BUCKETS, math.inf]
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets)), buckets
    assert buckets[-1][1] == count >= 4 and total >= 0
    assert buckets[-2][1] == count, "a loopback delivery takes less than 5 s"

    # Not part of the API description.
    assert "/metrics" not in httpx.get(server.url + "/schema/openapi.json").json()["paths"]


def test_rate_limit_refusals_are_counted(make_server):
    server = make_server("limited", RATE_LIMIT_MESSAGES="2/minute")
    visitor = start_visitor(server.url, "Hızlı")
    statuses = [visitor.post("/chat/messages", {"text": f"m{i}"}).status_code for i in range(3)]
    assert statuses == [303, 303, 429]
    metrics = scrape(server.url)
    assert metrics.value("sohbet_rate_limit_refusals_total", limit="messages") == 1
    assert metrics.value("sohbet_http_requests_total", route="/chat/messages", method="POST", status="429") == 1
    assert metrics.value("sohbet_messages_stored_total", sender="visitor") == 2


def test_development_serves_metrics_to_anyone(server):
    # X-Forwarded-For from 127.0.0.1 (a trusted proxy by default) is believed: the app sees a public client here.
    assert httpx.get(server.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200


def test_production_serves_metrics_to_loopback_or_the_bearer_token(make_server):
    token = "metrics-" + "t" * 32
    server = make_server(
        "production", ENVIRONMENT="production", METRICS_TOKEN=token, PUBLIC_URL="https://chat.example.test"
    )
    public = {"X-Forwarded-For": "203.0.113.9"}  # a client behind the (trusted, loopback) proxy
    assert httpx.get(server.url + "/metrics").status_code == 200  # a scraper on the host itself
    scrape(server.url, headers={**public, "Authorization": f"Bearer {token}"})
    for headers in (
        public,
        {**public, "Authorization": "Bearer wrong-token-wrong-token"},
        {**public, "Authorization": f"Basic {token}"},
        {**public, "Authorization": f"Bearer {token}x"},
    ):
        refused = httpx.get(server.url + "/metrics", headers=headers)
        assert refused.status_code == 404, headers
        body = refused.json()
        assert (body["success"], body["code"], body["status"]) == (False, "not_found", 404) and body["error"]
        assert "sohbet_" not in refused.text


# -- the registry itself -------------------------------------------------------------------------------------


def test_registry_renders_telegram_calls_and_escapes_labels():
    clock = iter([1000.0, 1000.5]).__next__
    metrics = Metrics('1.0 "beta"\n', clock=clock)
    metrics.telegram_call("sendMessage", ok=True)
    metrics.telegram_call("sendMessage", ok=False, outcome="timeout")
    metrics.telegram_call("https://api.telegram.org/bot123:SECRET/sendPhoto", ok=False)
    metrics.delivered(1000.0)  # clock says 1000.5
    metrics.http_response('/odd/"route"\\', "GET", 200)
    with metrics.stream_open("visitor"):
        inside = parse(metrics.render())
    text = metrics.render()
    exposition = parse(text)
    assert "SECRET" not in text
    assert exposition.value("sohbet_info", version='1.0 "beta"\n') == 1
    assert exposition.value("sohbet_telegram_calls_total", method="sendMessage", outcome="ok") == 1
    assert exposition.value("sohbet_telegram_calls_total", method="sendMessage", outcome="timeout") == 1
    assert exposition.value("sohbet_telegram_calls_total", method="other", outcome="error") == 1
    assert exposition.value("sohbet_telegram_failures_total", method="sendMessage") == 1
    assert exposition.value("sohbet_telegram_failures_total", method="other") == 1
    assert exposition.value("sohbet_http_requests_total", route='/odd/"route"\\', method="GET", status="200") == 1
    assert inside.value("sohbet_sse_streams_open", audience="visitor") == 1
    assert exposition.value("sohbet_sse_streams_open", audience="visitor") == 0
    buckets, count, total = histogram(exposition, "sohbet_delivery_latency_seconds")
    assert count == 1 and total == pytest.approx(0.5)
    assert [v for b, v in buckets if b < 0.5] == [0] * 6 and all(v == 1 for b, v in buckets if b >= 0.5)
