"""Attachments over HTTP: every accepted type, every refusal, access control, headers, lifecycle, rate limit."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests import media_files
from tests.streams import open_reader
from tests.support import Browser, find_thread, login_admin, start_visitor, wait_until

MEDIA_RE = re.compile(r'(?:src|href)="/media/([A-Za-z0-9_-]+)"')


def upload(
    client: Browser,
    path: str,
    name: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    text: str = "",
    htmx: bool = False,
) -> httpx.Response:
    headers = {"HX-Request": "true"} if htmx else {}
    return client.http.post(
        path,
        data={"text": text, "_csrf_token": client.csrf_token},
        files={"file": (name, data, content_type)},
        headers=headers,
    )


def uploads_dir(server) -> Path:
    return Path(server.env["DATA_DIR"]) / "uploads"


def stored_files(server) -> list[Path]:
    directory = uploads_dir(server)
    return sorted(p for p in directory.iterdir()) if directory.exists() else []


def media_ids(page: str) -> list[str]:
    return list(dict.fromkeys(MEDIA_RE.findall(page)))


@pytest.mark.parametrize("name", list(media_files.ACCEPTED))
def test_every_accepted_type(server, name):
    make, expected_type = media_files.ACCEPTED[name]
    visitor = start_visitor(server.url, f"Up {name}")
    # The client's Content-Type and name lie on purpose: only the bytes count.
    response = upload(
        visitor, "/chat/messages", name.rsplit(".", 1)[0] + ".txt", make(), "text/plain", text="caption here"
    )
    assert response.status_code == 303, response.text
    page = visitor.get("/").text
    (public_id,) = media_ids(page)
    assert "caption here" in page
    served = visitor.http.get(f"/media/{public_id}")
    assert served.status_code == 200
    assert served.headers["content-type"].split(";")[0] == expected_type
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"].startswith("sandbox")
    assert served.headers["content-disposition"].startswith("inline; filename=")
    if expected_type.startswith("image/"):
        assert re.search(rf'<img src="/media/{public_id}" width="\d+" height="\d+" loading="lazy"', page)
        Image.open(io.BytesIO(served.content)).verify()
    else:
        assert f'<audio controls preload="none" src="/media/{public_id}"' in page
        assert served.content == make()


def test_file_without_caption_and_htmx(server):
    visitor = start_visitor(server.url, "No caption")
    response = upload(visitor, "/chat/messages", "a.png", media_files.image("PNG"), htmx=True)
    assert response.status_code == 200 and response.text.lstrip().startswith('<form id="composer"')
    page = visitor.get("/").text
    assert len(media_ids(page)) == 1 and 'class="msg-text"' not in page.split('id="messages"')[1]


def test_exif_gps_is_stripped(server):
    visitor = start_visitor(server.url, "Gps")
    original = media_files.image("JPEG", gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the fixture really has GPS
    assert upload(visitor, "/chat/messages", "holiday.jpg", original).status_code == 303
    (public_id,) = media_ids(visitor.get("/").text)
    served = visitor.http.get(f"/media/{public_id}").content
    picture = Image.open(io.BytesIO(served))
    assert not picture.getexif().get_ifd(0x8825)
    assert not picture.getexif()
    assert b"SpyCam" not in served and b"Exif" not in served


REFUSALS = {
    "svg-with-script": ("x.svg", media_files.SVG_WITH_SCRIPT, "image/svg+xml", 415),
    "html-as-png": ("cat.png", media_files.HTML_AS_PNG, "image/png", 415),
    "gif-js-polyglot": ("funny.gif", media_files.GIF_JS_POLYGLOT, "image/gif", 422),
    "png-with-html-tail": ("tail.png", media_files.png_with_html_tail(), "image/png", 422),
    "pdf": ("doc.pdf", media_files.PDF, "application/pdf", 415),
    "zero-bytes": ("empty.png", b"", "image/png", 422),
    "pixel-bomb": ("bomb.png", media_files.pixel_bomb(), "image/png", 422),
    "truncated-jpeg": ("broken.jpg", media_files.image("JPEG")[:40], "image/jpeg", 422),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_are_clear_and_leave_nothing(server, case):
    name, data, content_type, status = REFUSALS[case]
    visitor = start_visitor(server.url, f"Refuse {case}")
    before = stored_files(server)
    response = upload(visitor, "/chat/messages", name, data, content_type, text="keep this text")
    assert response.status_code == status, (case, response.status_code)
    assert 'class="error"' in response.text and "keep this text" in response.text  # the text is not lost
    htmx = upload(visitor, "/chat/messages", name, data, content_type, text="keep this text", htmx=True)
    assert htmx.status_code == status and htmx.text.lstrip().startswith('<form id="composer"')
    assert stored_files(server) == before
    assert not [p for p in uploads_dir(server).glob(".*")] if uploads_dir(server).exists() else True
    assert media_ids(visitor.get("/").text) == []


def test_size_limits(server):
    visitor = start_visitor(server.url, "Big")
    jpeg = media_files.image("JPEG")
    over = jpeg + b"\x00" * (5 * 1024 * 1024 + 1 - len(jpeg))
    assert len(over) == 5 * 1024 * 1024 + 1
    response = upload(visitor, "/chat/messages", "big.jpg", over, text="big one")
    assert response.status_code == 413 and "too large" in response.text and "big one" in response.text
    audio_over = media_files.mp3() + b"\x00" * (10 * 1024 * 1024 + 1 - len(media_files.mp3()))
    assert upload(visitor, "/chat/messages", "long.mp3", audio_over).status_code in (413,)
    # A body over the request limit is refused before it is read.
    huge = upload(visitor, "/chat/messages", "huge.mp3", b"\x00" * (12 * 1024 * 1024))
    assert huge.status_code == 413
    assert media_ids(visitor.get("/").text) == []


def test_hostile_file_names(server):
    visitor = start_visitor(server.url, "Names")
    for name in ("../../x.png", "..\\..\\evil.png", "<img src=x onerror=alert(1)>.png", "a\"b'c.png"):
        assert upload(visitor, "/chat/messages", name, media_files.image("PNG")).status_code == 303
    page = visitor.get("/").text
    assert "<img src=x" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    for public_id in media_ids(page):
        served = visitor.http.get(f"/media/{public_id}")
        disposition = served.headers["content-disposition"]
        quoted = re.fullmatch(r'inline; filename="([^"]*)"; filename\*=UTF-8\'\'(\S+)', disposition)
        assert quoted, disposition
        assert ".." not in quoted.group(1) and not set("/\\<>") & set(quoted.group(1) + quoted.group(2))
    stored = stored_files(server)
    assert all(p.parent == uploads_dir(server) for p in stored)
    assert not (uploads_dir(server).parent.parent / "x.png").exists()


def test_access_control(server):
    alice = start_visitor(server.url, "Alice media")
    upload(alice, "/chat/messages", "a.png", media_files.image("PNG"))
    upload(alice, "/chat/messages", "b.png", media_files.image("PNG"))
    first, second = media_ids(alice.get("/").text)
    assert len(first) >= 20 and not first.isdigit() and first != second
    bob = start_visitor(server.url, "Bob media")
    assert bob.http.get(f"/media/{first}").status_code == 404
    assert httpx.get(f"{server.url}/media/{first}").status_code == 404
    assert httpx.get(f"{server.url}/media/does-not-exist").status_code == 404
    admin = login_admin(server)
    assert admin.http.get(f"/media/{first}").status_code == 200
    admin.post("/logout")
    assert admin.http.get(f"/media/{first}").status_code == 404


def test_admin_sends_an_image_and_it_streams_live(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Live media")
    visitor.post("/chat/messages", {"text": "send me the picture"})
    thread = find_thread(admin, "Live media")
    reader = open_reader(server.url, "/chat/events?after=1", visitor.http.cookies)
    try:
        assert (
            upload(
                admin, f"/admin/threads/{thread}/messages", "map.webp", media_files.image("WEBP"), text="here"
            ).status_code
            == 303
        )
        (event,) = reader.wait_for_messages(1)
        assert 'data-sender="admin"' in event.data and '<img src="/media/' in event.data
        assert 'loading="lazy"' in event.data and "here" in event.data
        (public_id,) = media_ids(event.data)
        assert visitor.http.get(f"/media/{public_id}").status_code == 200
    finally:
        reader.close()
    preview = admin.get("/admin").text.split(f'id="thread-{thread}"', 1)[1].split("</li>", 1)[0]
    assert '<use href="#i-camera"/>' in preview and "Image</span> here" in preview  # an SVG icon, no emoji


def test_clearing_deletes_the_files(make_server):
    server = make_server("media-lifecycle")
    admin = login_admin(server)
    one = start_visitor(server.url, "Files one")
    two = start_visitor(server.url, "Files two")
    upload(one, "/chat/messages", "a.png", media_files.image("PNG"))
    upload(one, "/chat/messages", "b.wav", media_files.wav())
    upload(two, "/chat/messages", "c.jpg", media_files.image("JPEG"))
    assert len(stored_files(server)) == 3
    assert admin.post(f"/admin/threads/{find_thread(admin, 'Files one')}/clear", {"confirm": "yes"}).status_code == 303
    wait_until(lambda: len(stored_files(server)) == 1, message="the cleared conversation's files to go")
    assert admin.post("/admin/clear-all", {"confirm": "yes"}).status_code == 303
    wait_until(lambda: stored_files(server) == [], message="every file to go")


def test_upload_rate_limit(make_server):
    server = make_server("upload-limit", RATE_LIMIT_UPLOADS="2/minute")
    visitor = start_visitor(server.url, "Uploader")
    statuses = [upload(visitor, "/chat/messages", f"{i}.png", media_files.image("PNG")).status_code for i in range(3)]
    assert statuses == [303, 303, 429]
    assert visitor.post("/chat/messages", {"text": "text still works"}).status_code == 303
