"""Attachments stored at Cloudinary, against a fake Cloudinary on loopback (tests/fakes/cloudinary.py) that checks
every signature: settings, signed uploads with the right resource type, delivery URLs, access-checked redirects,
deletion with the conversation, and what happens when Cloudinary is down, refuses us or loses an answer."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import sqlite3
import time
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from PIL import Image

from app.settings import CloudinaryConfig, Settings, SettingsError, parse_cloudinary
from app.web import security_headers
from tests import media_files
from tests.fakes.cloudinary import FakeCloudinary
from tests.server.test_uploads import upload, uploads_dir
from tests.support import find_thread, login_admin, start_visitor, wait_until

SECRET = "s3cr3t-API_secret-value"


# -- settings (no server) -------------------------------------------------------------------------------------


def cloudinary_of(env: dict[str, str], production: bool = False) -> CloudinaryConfig | None:
    return parse_cloudinary(env, production=production)


def test_cloudinary_url_and_parts_are_parsed(tmp_path):
    assert cloudinary_of({}) is None
    config = cloudinary_of({"CLOUDINARY_URL": f"cloudinary://123456789012345:{SECRET}@my-cloud"})
    assert config == CloudinaryConfig("my-cloud", "123456789012345", SECRET)
    assert config.upload_prefix == "https://api.cloudinary.com"  # the SDK's own default
    assert config.delivery_origin == "https://res.cloudinary.com"
    assert SECRET not in repr(config)  # settings may be printed; the secret is not
    parts = cloudinary_of(
        {"CLOUDINARY_CLOUD_NAME": "my-cloud", "CLOUDINARY_API_KEY": "123456789012345", "CLOUDINARY_API_SECRET": SECRET}
    )
    assert parts == config
    # The SDK's private-CDN form, an API base and a delivery host for a fake (or a proxy).
    private = cloudinary_of({"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud/media.example.com"})
    assert private.private_cdn and private.delivery_origin == "https://media.example.com"
    local = cloudinary_of(
        {
            "CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud",
            "CLOUDINARY_UPLOAD_PREFIX": "http://127.0.0.1:9999/",
            "CLOUDINARY_SECURE_DISTRIBUTION": "127.0.0.1:9998",
        }
    )
    assert local.upload_prefix == "http://127.0.0.1:9999" and local.delivery_origin == "https://127.0.0.1:9998"
    settings = Settings.from_env({"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud", "DATA_DIR": str(tmp_path)})
    assert settings.cloudinary_configured and settings.cloudinary.cloud_name == "cloud"
    assert Settings.from_env(
        {"FILE_DELETE_RETRY_SECONDS": "1s,2m", "DATA_DIR": str(tmp_path)}
    ).file_delete_retry_seconds == (
        1,
        120,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CLOUDINARY_URL": f"https://1:{SECRET}@cloud"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_URL": "cloudinary://1@cloud"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_URL": f"cloudinary://:{SECRET}@cloud"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud?upload_prefix=http://evil"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_URL": f"cloudinary://1:{SECRET} @cloud"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_URL": f"1:{SECRET}@cloud"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_CLOUD_NAME": "cloud", "CLOUDINARY_API_KEY": "1"}, "CLOUDINARY_API_SECRET"),
        ({"CLOUDINARY_API_KEY": "1", "CLOUDINARY_API_SECRET": SECRET}, "CLOUDINARY_CLOUD_NAME"),
        (
            {"CLOUDINARY_CLOUD_NAME": "my cloud", "CLOUDINARY_API_KEY": "1", "CLOUDINARY_API_SECRET": SECRET},
            "CLOUDINARY_CLOUD_NAME",
        ),
        ({"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud", "CLOUDINARY_CLOUD_NAME": "other"}, "CLOUDINARY_URL"),
        ({"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud", "CLOUDINARY_UPLOAD_PREFIX": "ftp://x"}, "UPLOAD_PREFIX"),
        (
            {"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud", "CLOUDINARY_UPLOAD_PREFIX": "https://x/v1_1"},
            "UPLOAD_PREFIX",
        ),
        (
            {"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud", "CLOUDINARY_SECURE_DISTRIBUTION": "https://cdn/x"},
            "SECURE_DISTRIBUTION",
        ),
    ],
)
def test_malformed_cloudinary_settings_are_named_without_the_secret(env, named, tmp_path):
    with pytest.raises(SettingsError, match=named) as refused:
        cloudinary_of(env)
    assert SECRET not in str(refused.value)
    with pytest.raises(SettingsError, match=named):  # the same through Settings.from_env
        Settings.from_env({**env, "DATA_DIR": str(tmp_path)})


def test_production_refuses_a_plain_http_api_base(tmp_path):
    env = {"CLOUDINARY_URL": f"cloudinary://1:{SECRET}@cloud", "CLOUDINARY_UPLOAD_PREFIX": "http://api.example.com"}
    assert cloudinary_of(env).upload_prefix == "http://api.example.com"  # development: allowed
    with pytest.raises(SettingsError, match="CLOUDINARY_UPLOAD_PREFIX must use https"):
        cloudinary_of(env, production=True)
    assert cloudinary_of({**env, "CLOUDINARY_UPLOAD_PREFIX": "http://127.0.0.1:8"}, production=True)
    with pytest.raises(SettingsError, match="CLOUDINARY_UPLOAD_PREFIX"):
        cloudinary_of({**env, "CLOUDINARY_UPLOAD_PREFIX": "http://localhost.evil.example"}, production=True)
    production = {
        "ENVIRONMENT": "production",
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ADMIN_PASSWORD": "a-long-admin-password",
    }
    with pytest.raises(SettingsError, match="https"):
        Settings.from_env({**production, **env})


def test_csp_allows_the_delivery_host_only_with_cloudinary():
    plain = dict(security_headers(Settings()))["content-security-policy"]
    assert "cloudinary" not in plain and "img-src 'self' data: blob:;" in plain
    config = CloudinaryConfig("cloud", "1", SECRET)
    csp = dict(security_headers(Settings(cloudinary=config)))["content-security-policy"]
    assert "img-src 'self' data: blob: https://res.cloudinary.com https://api.cloudinary.com;" in csp
    assert "media-src 'self' blob: https://res.cloudinary.com https://api.cloudinary.com;" in csp
    assert csp.startswith("default-src 'self';") and "script-src" not in csp  # nothing else widened


# -- helpers --------------------------------------------------------------------------------------------------


def run_sql(server, sql: str) -> list[tuple]:
    url = server.env["DATABASE_URL"]
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    async def fetch() -> list[tuple]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


MEDIA_RE = re.compile(r'(?:src|href)="/media/([A-Za-z0-9_-]+)"')
CLOUD_KEY_RE = re.compile(r"authenticated/(image|video)/([A-Za-z0-9_-]+)\.([a-z0-9]+)")


def delivery_urls(server, browser, page: str) -> list[tuple[str, str, str, str]]:
    """(signed URL, resource_type, Cloudinary public id, format) of every Cloudinary attachment on the page: its
    /media/ link, followed with this browser's cookies to the signed URL it redirects to."""
    found = []
    for ours in dict.fromkeys(MEDIA_RE.findall(page)):
        rows = run_sql(server, f"SELECT backend, storage_key FROM attachment WHERE public_id = '{ours}'")
        if not rows or rows[0][0] != "cloudinary":
            continue
        key = CLOUD_KEY_RE.fullmatch(rows[0][1])
        assert key, rows[0][1]
        response = browser.http.get(f"/media/{ours}")
        assert response.status_code == 302, response.status_code
        found.append((response.headers["location"], *key.groups()))
    return found


def attachment_id(server, public_id_at_cloudinary: str) -> str:
    """Our own public id (the one /media/ takes) of the attachment stored under that Cloudinary public id."""
    rows = run_sql(server, f"SELECT public_id FROM attachment WHERE storage_key LIKE '%/{public_id_at_cloudinary}.%'")
    assert len(rows) == 1, rows
    return rows[0][0]


def message_count(server) -> int:
    return run_sql(server, "SELECT COUNT(*) FROM message")[0][0]


def fetch(fake: FakeCloudinary, url: str) -> httpx.Response:
    return httpx.get(url, verify=fake.client_ssl_context(), timeout=10)


@pytest.fixture(scope="module")
def fake():
    fake = FakeCloudinary().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(make_server, fake):
    return make_server("cloudinary", **fake.env(), FILE_DELETE_RETRY_SECONDS="1s")


# -- the happy path ---------------------------------------------------------------------------------------------


def test_image_and_audio_are_stored_at_cloudinary(server, fake):
    visitor = start_visitor(server.url, "Cloud files")
    uploads_before = len(fake.calls_to("upload"))
    photo = media_files.image("JPEG", gps=True)
    assert upload(visitor, "/chat/messages", "holiday snap.jpg", photo, text="look at this").status_code == 303
    assert upload(visitor, "/chat/messages", "voice note.wav", media_files.wav()).status_code == 303

    calls = fake.calls_to("upload")[uploads_before:]
    assert [(c.resource_type, c.status, c.signature_valid) for c in calls] == [
        ("image", 200, True),
        ("video", 200, True),
    ]
    for call in calls:
        assert call.params["api_key"] == fake.api_key and call.params["type"] == "authenticated"
        assert len(call.params["public_id"]) >= 32  # random, unguessable
        assert call.file_name.startswith("upload.")  # the visitor's file name never leaves the server
    assert calls[0].params["public_id"] != calls[1].params["public_id"]

    page = visitor.get("/")
    found = delivery_urls(server, visitor, page.text)
    assert [(kind, public_id) for _, kind, public_id, _ in found] == [
        ("image", calls[0].params["public_id"]),
        ("video", calls[1].params["public_id"]),
    ]
    (image_url, _, _, image_format), (audio_url, _, _, audio_format) = found
    assert (image_format, audio_format) == ("jpg", "wav")
    # Pages link our access-checked /media/ route, never an address at Cloudinary.
    assert re.search(r'<img src="/media/[A-Za-z0-9_-]+" width="32" height="24" loading="lazy"', page.text)
    assert re.search(r'<audio controls preload="none" src="/media/[A-Za-z0-9_-]+"', page.text)
    assert "look at this" in page.text and fake.cloud_name not in page.text
    assert all(url.startswith(f"{fake.upload_prefix}/v1_1/{fake.cloud_name}/") for url in (image_url, audio_url))
    csp = page.headers["content-security-policy"]
    assert f"img-src 'self' data: blob: {fake.delivery_origin} {fake.upload_prefix};" in csp
    assert f"media-src 'self' blob: {fake.delivery_origin} {fake.upload_prefix};" in csp

    # What Cloudinary delivers is what we re-encoded: a clean JPEG without the GPS position; audio as sent.
    image = fetch(fake, image_url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(image.content))
    assert picture.size == (32, 24) and not picture.getexif()
    assert b"SpyCam" not in image.content and image.content != photo
    assert fetch(fake, audio_url).content == media_files.wav()
    assert not uploads_dir(server).exists() or not list(uploads_dir(server).iterdir())  # nothing on local disk


def test_media_route_checks_access_then_redirects(server, fake):
    owner = start_visitor(server.url, "Cloud owner")
    assert upload(owner, "/chat/messages", "p.png", media_files.image("PNG")).status_code == 303
    ((url, _, cloud_id, _),) = delivery_urls(server, owner, owner.get("/").text)
    ours = attachment_id(server, cloud_id)
    assert ours != cloud_id  # the Cloudinary public id and ours are unrelated random ids

    mine = owner.http.get(f"/media/{ours}")
    assert mine.status_code == 302 and mine.headers["location"].split("?")[0] == url.split("?")[0]
    assert "private" in mine.headers["cache-control"]
    assert fetch(fake, mine.headers["location"]).status_code == 200
    stranger = start_visitor(server.url, "Cloud stranger")
    assert stranger.http.get(f"/media/{ours}").status_code == 404
    assert httpx.get(f"{server.url}/media/{ours}").status_code == 404
    admin = login_admin(server)
    assert fetch(fake, admin.http.get(f"/media/{ours}").headers["location"]).status_code == 200


def test_admin_reply_with_an_image_goes_to_cloudinary(server, fake):
    visitor = start_visitor(server.url, "Cloud reply")
    admin = login_admin(server)
    thread = find_thread(admin, "Cloud reply")
    response = upload(admin, f"/admin/threads/{thread}/messages", "m.webp", media_files.image("WEBP"), text="map")
    assert response.status_code == 303
    ((url, kind, cloud_id, fmt),) = delivery_urls(server, visitor, visitor.get("/").text)
    assert (kind, fmt) == ("image", "webp") and fake.has(cloud_id)
    assert fetch(fake, url).headers["content-type"] == "image/webp"


def test_clearing_a_conversation_destroys_its_files(server, fake):
    admin = login_admin(server)
    keep = start_visitor(server.url, "Cloud keep")
    gone = start_visitor(server.url, "Cloud clear")
    upload(keep, "/chat/messages", "k.png", media_files.image("PNG"))
    upload(gone, "/chat/messages", "a.gif", media_files.image("GIF", frames=2))
    upload(gone, "/chat/messages", "b.mp3", media_files.mp3())
    ((_, _, kept, _),) = delivery_urls(server, keep, keep.get("/").text)
    cleared = delivery_urls(server, gone, gone.get("/").text)
    assert [kind for _, kind, _, _ in cleared] == ["image", "video"]
    assert all(fake.has(public_id) for _, _, public_id, _ in cleared)

    thread = find_thread(admin, "Cloud clear")
    assert admin.post(f"/admin/threads/{thread}/clear", {"confirm": "yes"}).status_code == 303
    wait_until(
        lambda: not any(fake.has(public_id) for _, _, public_id, _ in cleared),
        message="the cleared conversation's files to be destroyed at Cloudinary",
    )
    destroyed = {c.params["public_id"]: c for c in fake.calls_to("destroy") if c.status == 200}
    for _, kind, public_id, _ in cleared:
        call = destroyed[public_id]
        assert call.signature_valid and call.resource_type == kind and call.params["invalidate"] == "1"
    assert fake.has(kept)  # another conversation's file is untouched
    wait_until(lambda: run_sql(server, "SELECT COUNT(*) FROM file_deletion")[0][0] == 0, message="an empty queue")
    assert fetch(fake, cleared[0][0]).status_code == 404


# -- failures ---------------------------------------------------------------------------------------------------


def assert_refused_and_kept(response: httpx.Response, text: str, htmx: bool = False) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert 'class="error"' in response.text
    assert "could not be stored" in response.text or "kaydedilemedi" in response.text
    assert text in response.text  # what was typed comes back in the composer
    if htmx:
        assert response.text.lstrip().startswith('<form id="composer"')


def test_cloudinary_down_loses_nothing_and_deletions_wait_for_it(make_server):
    fake = FakeCloudinary().start()
    try:
        server = make_server("cloudinary-down", **fake.env(), FILE_DELETE_RETRY_SECONDS="1s")
        admin = login_admin(server)
        visitor = start_visitor(server.url, "Cloud down")
        assert upload(visitor, "/chat/messages", "first.png", media_files.image("PNG"), text="first").status_code == 303
        ((_, _, first_id, _),) = delivery_urls(server, visitor, visitor.get("/").text)
        messages = message_count(server)

        fake.down()
        typed = "Please keep this: order #1234 <b>arrived</b> broken"
        assert_refused_and_kept(
            upload(visitor, "/chat/messages", "x.png", media_files.image("PNG"), text=typed), "#1234"
        )
        assert_refused_and_kept(
            upload(visitor, "/chat/messages", "x.wav", media_files.wav(), text=typed, htmx=True), "#1234", htmx=True
        )
        turkish = visitor.http.post(
            "/chat/messages",
            data={"text": "merhaba", "_csrf_token": visitor.csrf_token},
            files={"file": ("x.png", media_files.image("PNG"), "image/png")},
            headers={"Accept-Language": "tr"},
        )
        assert_refused_and_kept(turkish, "merhaba")
        assert "Dosya şu anda kaydedilemedi" in turkish.text
        assert (
            "&lt;b&gt;arrived&lt;/b&gt;"
            in upload(visitor, "/chat/messages", "y.png", media_files.image("PNG"), text=typed).text
        )
        thread = find_thread(admin, "Cloud down")
        assert_refused_and_kept(
            upload(admin, f"/admin/threads/{thread}/messages", "a.png", media_files.image("PNG"), text="admin text"),
            "admin text",
        )
        assert message_count(server) == messages  # nothing half-stored
        assert run_sql(server, "SELECT COUNT(*) FROM attachment")[0][0] == 1
        assert run_sql(server, "SELECT COUNT(*) FROM file_deletion")[0][0] == 0  # connection refused: nothing sent
        assert visitor.post("/chat/messages", {"text": "text alone still works"}).status_code == 303
        assert message_count(server) == messages + 1
        assert '"event": "upload.storage_failed"' in server.stderr()
        assert fake.api_secret not in server.stderr() + server.stdout()

        # Cloudinary answering errors is just as clear.
        fake.up()
        fake.fail_with(500)
        assert_refused_and_kept(upload(visitor, "/chat/messages", "z.png", media_files.image("PNG"), text="t5"), "t5")
        fake.fail_with(None)

        # Clearing while Cloudinary is away: the deletion stays queued, is retried, and completes when it is back.
        fake.down()
        assert admin.post("/admin/clear-all", {"confirm": "yes"}).status_code == 303
        queued = wait_until(
            lambda: [r for r in run_sql(server, "SELECT storage_key, attempts FROM file_deletion") if r[1] >= 2],
            message="a failed, retried deletion in the queue",
        )
        assert [key for key, _ in queued] == [f"authenticated/image/{first_id}.png"]
        assert fake.has(first_id)
        assert '"event": "file.delete_failed"' in server.stderr()
        fake.up()
        wait_until(lambda: not fake.has(first_id), message="the file to be destroyed once Cloudinary is back")
        wait_until(lambda: run_sql(server, "SELECT COUNT(*) FROM file_deletion")[0][0] == 0, message="an empty queue")
    finally:
        fake.fail_with(None)
        with contextlib.suppress(Exception):
            fake.stop()


def test_an_upload_whose_answer_is_lost_is_deleted_again(make_server):
    """Cloudinary stored the file but its answer never arrived: the message fails clearly, and the file that may
    exist is queued for deletion, so nothing is left behind."""
    fake = FakeCloudinary().start()
    try:
        server = make_server("cloudinary-lost", **fake.env(), FILE_DELETE_RETRY_SECONDS="1s")
        visitor = start_visitor(server.url, "Cloud lost")
        fake.lose_responses = True
        assert_refused_and_kept(
            upload(visitor, "/chat/messages", "l.png", media_files.image("PNG"), text="lost?"), "lost?"
        )
        (call,) = fake.calls_to("upload")
        assert call.signature_valid and call.status == 502
        fake.lose_responses = False
        wait_until(lambda: not fake.has(call.params["public_id"]), message="the orphan to be destroyed")
        assert message_count(server) == 0
        assert [c.params["public_id"] for c in fake.calls_to("destroy")][-1] == call.params["public_id"]
        wait_until(lambda: run_sql(server, "SELECT COUNT(*) FROM file_deletion")[0][0] == 0, message="an empty queue")
    finally:
        fake.stop()


def test_a_wrong_api_secret_is_refused_by_cloudinary_and_reported(make_server, fake):
    server = make_server("cloudinary-wrong-secret", **fake.env(api_secret="not-the-real-secret"))
    visitor = start_visitor(server.url, "Wrong secret")
    before = len(fake.calls)
    response = upload(visitor, "/chat/messages", "w.png", media_files.image("PNG"), text="with a picture")
    assert_refused_and_kept(response, "with a picture")
    (call,) = fake.calls[before:]
    assert call.action == "upload" and call.status == 401 and call.signature_valid is False
    assert not fake.has(call.params["public_id"])
    assert message_count(server) == 0
    assert "AuthorizationRequired" in server.stderr() and "not-the-real-secret" not in server.stderr()


def test_browser_like_client_sees_the_error_page(server, fake):
    """A plain (JavaScript-off) form post with Cloudinary down gets the whole page back with the error."""
    visitor = start_visitor(server.url, "Cloud nojs")
    fake.down()
    try:
        response = upload(visitor, "/chat/messages", "n.png", media_files.image("PNG"), text="no js here")
    finally:
        fake.up()
    assert_refused_and_kept(response, "no js here")
    assert "<html" in response.text and 'id="messages"' in response.text


def test_a_known_cloudinary_address_is_useless_without_access(server, fake):
    """Files are uploaded as `authenticated`: the plain delivery address does not serve them, and the URL /media/
    redirects an authorised client to is signed for one file and expires within five minutes."""
    owner = start_visitor(server.url, "Cloud private")
    assert upload(owner, "/chat/messages", "secret.png", media_files.image("PNG")).status_code == 303
    ((signed, kind, cloud_id, fmt),) = delivery_urls(server, owner, owner.get("/").text)
    assert (kind, fmt) == ("image", "png")
    for delivery_type in ("upload", "authenticated"):  # what someone who learnt the public id could try
        guessed = f"{fake.delivery_origin}/{fake.cloud_name}/image/{delivery_type}/{cloud_id}.png"
        assert fetch(fake, guessed).status_code in (401, 404)
    query = parse_qs(urlsplit(signed).query)
    assert query["public_id"] == [cloud_id] and query["type"] == ["authenticated"]
    assert time.time() < int(query["expires_at"][0]) <= time.time() + 301
    assert fetch(fake, signed).status_code == 200  # the authorised client gets the file
    # The signature covers the file and the expiry: neither can be changed.
    other = signed.replace(f"expires_at={query['expires_at'][0]}", f"expires_at={int(query['expires_at'][0]) + 9999}")
    assert fetch(fake, other).status_code == 401
    # No access, no URL: a stranger and an anonymous client get the same 404 as for a wrong id.
    ours = attachment_id(server, cloud_id)
    stranger = start_visitor(server.url, "Cloud snoop")
    assert stranger.http.get(f"/media/{ours}").status_code == 404
    assert httpx.get(f"{server.url}/media/{ours}", follow_redirects=False).status_code == 404
