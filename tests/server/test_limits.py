"""Request body limits (issue 11, defect 1): small bodies everywhere but uploads, refused before parsing."""

from __future__ import annotations

import threading
import time

import httpx

from tests.media_files import image
from tests.support import login_admin, start_visitor

FIELDS = 2_700_000  # the review's reproduction: 2.7 million `a=1` fields (10.8 MB, under the old 11 MB limit)


def test_a_huge_form_is_refused_at_once_and_others_are_served_meanwhile(server):
    visitor = start_visitor(server.url, "Büyük")
    body = b"_csrf_token=" + visitor.csrf_token.encode() + b"&" + b"a=1&" * FIELDS
    outcome: dict[str, object] = {}

    def post() -> None:
        started = time.monotonic()
        response = visitor.http.post(
            "/chat/end",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
            timeout=60,
        )
        outcome["seconds"] = time.monotonic() - started
        outcome["response"] = response

    poster = threading.Thread(target=post)
    latencies: list[float] = []
    with httpx.Client(base_url=server.url, timeout=30) as probe:
        probe.get("/health/live")
        poster.start()
        while poster.is_alive() or len(latencies) < 5:
            started = time.monotonic()
            assert probe.get("/health/live").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.01)
    poster.join()
    response = outcome["response"]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 413, response.text[:300]
    assert "text/html" in response.headers["content-type"] and "That request is too large." in response.text
    assert outcome["seconds"] < 2, outcome
    assert max(latencies) < 0.1, f"/health/live took up to {max(latencies):.3f} s while the form was posted"
    # The chat was not ended: the visitor still writes.
    assert visitor.post("/chat/messages", {"text": "hâlâ buradayım"}).status_code == 303


def test_small_limits_on_every_non_upload_route_in_the_client_s_format(server):
    visitor = start_visitor(server.url, "Sınır")
    just_over = "x" * (64 * 1024)
    # A form one byte over 64 KB: a page for a browser...
    page = visitor.post("/chat/end", {"pad": just_over}, headers={"Accept": "text/html"})
    assert page.status_code == 413 and "text/html" in page.headers["content-type"]
    # ... JSON for the API (announced length and a chunked body that never announces it).
    admin = login_admin(server)
    for content in (b'{"thread_id": 1, "text": "' + just_over.encode() + b'"}', iter([just_over.encode()] * 2)):
        refused = admin.http.post(
            "/api/messages/send",
            content=content,
            headers={"Content-Type": "application/json", "X-CSRFToken": admin.csrf_token},
        )
        assert refused.status_code == 413, refused.text[:300]
        body = refused.json()
        assert (body["success"], body["code"], body["status"]) == (False, "payload_too_large", 413)
    # Too many fields in a small form.
    fields = visitor.post("/chat/end", {f"f{i}": "" for i in range(400)})
    assert fields.status_code == 413
    # The longest message still fits: 4000 four-byte characters, percent-encoded.
    longest = visitor.post("/chat/messages", {"text": "😀" * 4000})
    assert longest.status_code == 303, longest.text[:300]


def test_upload_routes_keep_the_upload_size_for_multipart_only(server):
    visitor = start_visitor(server.url, "Dosya")
    picture = image("PNG")
    big = picture + b"\0" * (200 * 1024)  # a 200 KB+ file: over the small limit, far under MAX_IMAGE_SIZE
    sent = visitor.http.post(
        "/chat/messages",
        data={"_csrf_token": visitor.csrf_token, "text": ""},
        files={"file": ("big.png", big, "image/png")},
    )
    assert sent.status_code in (303, 422), sent.text[:300]  # accepted, or judged as an image: not refused unread
    # The same route refuses an urlencoded body over 64 KB.
    refused = visitor.post("/chat/messages", {"text": "y" * (70 * 1024)})
    assert refused.status_code == 413
    # Too many multipart parts.
    parts = {f"p{i}": "" for i in range(40)}
    many = visitor.http.post(
        "/chat/messages",
        data={"_csrf_token": visitor.csrf_token, **parts},
        files={"file": ("a.png", picture, "image/png")},
    )
    assert many.status_code in (400, 413), many.status_code
