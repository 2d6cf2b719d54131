"""app/services/workspace.py and app/services/branding.py in process: defaults from the environment, saving and
loading, the accent colour's contrast rules (WCAG AA, computed here from the WCAG formula), the embedding sites'
parsing, the logo's checks, and a change in one process reaching another (PostgreSQL: through NOTIFY)."""

from __future__ import annotations

import asyncio
import io
import time

import pytest
from PIL import Image

from app.models import WorkspaceSetting
from app.services.branding import (
    DEFAULT_ACCENT,
    DEFAULT_ACCENT_DARK,
    Brand,
    BrandingForm,
    accent_problem,
    contrast,
    dark_shade,
    luminance,
    parse_origins,
    save_branding,
)
from app.services.realtime import Hub, MemoryBroker, PostgresBroker
from app.services.workspace import Workspace
from tests.support import BACKEND


def png(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def workspace(database):
    hub = Hub()
    ws = Workspace(database, MemoryBroker(hub), hub)
    await ws.start()
    yield ws
    await ws.stop()


def form(**fields) -> BrandingForm:
    base = {"site_name": "Acme", "accent": "#1a5e20", "greeting": "Hi there", "embed_origins": ""}
    return BrandingForm(**{**base, **fields})


def test_luminance_and_contrast_follow_wcag():
    assert luminance("#ffffff") == pytest.approx(1.0)
    assert luminance("#000") == pytest.approx(0.0)
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-failing grey
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast(DEFAULT_ACCENT, "#ffffff") >= 4.5


def test_accent_colours_that_fail_aa_are_refused_with_the_reason():
    assert accent_problem(DEFAULT_ACCENT) is None
    assert accent_problem("#1a5e20") is None
    assert accent_problem("#ffd700") == ("settings.accent_text_contrast", {"ratio": "1.4"})  # gold: white text fails
    assert accent_problem("#777777")[0] == "settings.accent_text_contrast"
    assert accent_problem("red")[0] == "settings.accent_invalid"
    assert accent_problem("#12345")[0] == "settings.accent_invalid"


def test_the_dark_shade_keeps_aa_with_dark_text_and_on_the_dark_page():
    for accent in ("#1a5e20", "#6b21a8", "#b42318", "#000000"):
        shade = dark_shade(accent)
        assert contrast(shade, "#161b22") >= 4.5 and contrast(shade, "#0d1117") >= 4.5, (accent, shade)


def test_origins_are_parsed_normalized_and_checked():
    assert parse_origins(
        "https://Shop.Example.com/\nhttp://localhost:8000, https://a.example:443", https_only=False
    ) == (
        ("https://shop.example.com", "http://localhost:8000", "https://a.example"),
        None,
    )
    assert parse_origins("", https_only=True) == ((), None)
    assert parse_origins("https://ok.example https://ok.example", https_only=True) == (("https://ok.example",), None)
    assert parse_origins("https://shop.example.com/path", https_only=False)[1] == (
        "settings.origin_invalid",
        {"origin": "https://shop.example.com/path"},
    )
    assert parse_origins("javascript:alert(1)", https_only=False)[1][0] == "settings.origin_invalid"
    assert parse_origins("https://x.example 'none'", https_only=False)[1][0] == "settings.origin_invalid"
    assert parse_origins("http://shop.example", https_only=True)[1][0] == "settings.origin_https"


async def test_defaults_come_from_the_environment_until_saved(workspace):
    brand = Brand(workspace, ("https://env.example",))
    assert brand.current.embed_origins == ("https://env.example",)
    assert brand.current.accent == DEFAULT_ACCENT and brand.current.accent_dark == DEFAULT_ACCENT_DARK
    assert brand.current.site_name == "" and brand.current.logo is None and brand.current.css_url is None

    saved = await save_branding(workspace, form(embed_origins="https://shop.example"), None, https_only=False)
    assert saved
    assert brand.current.site_name == "Acme" and brand.current.greeting == "Hi there"
    assert brand.current.accent == "#1a5e20" and brand.current.embed_origins == ("https://shop.example",)
    assert "--accent:#1a5e20" in brand.current.css and brand.current.css_url.startswith("/brand.css?v=")

    # Emptied on the form: no site may embed any more (the environment's list does not come back).
    assert await save_branding(workspace, form(embed_origins=""), None, https_only=False)
    assert brand.current.embed_origins == ()


async def test_an_invalid_field_saves_nothing_and_names_the_reason(workspace):
    bad = form(site_name="x" * 61, accent="#ffd700", embed_origins="ftp://nope", greeting="a\x00b")
    assert not await save_branding(workspace, bad, (b"<svg onload=alert(1)>", "logo.svg"), https_only=False)
    assert bad.errors == {
        "site_name": ("settings.site_name_invalid", {"max": 60}),
        "greeting": ("settings.greeting_invalid", {"max": 200}),
        "accent": ("settings.accent_text_contrast", {"ratio": "1.4"}),
        "embed_origins": ("settings.origin_invalid", {"origin": "ftp://nope"}),
        "logo": ("upload.type", {}),
    }
    assert await WorkspaceSetting.count() == 0


async def test_the_logo_is_checked_reencoded_stored_and_removed(workspace):
    brand = Brand(workspace, ())
    assert await save_branding(workspace, form(), (png(), "logo.png"), https_only=False)
    logo = brand.current.logo
    assert logo is not None and logo.content_type == "image/png" and logo.data.startswith(b"\x89PNG")
    assert brand.current.logo_url == f"/brand/logo?v={logo.version}"

    # Saving other fields keeps the logo; a broken or oversized image is refused.
    assert await save_branding(workspace, form(site_name="Acme 2"), None, https_only=False)
    assert brand.current.logo == logo
    broken = form()
    assert not await save_branding(workspace, broken, (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "x.png"), https_only=False)
    assert "logo" in broken.errors
    huge = form()
    assert not await save_branding(workspace, huge, (png(3000, 3000), "big.png"), https_only=False)
    assert huge.errors["logo"][0] in {"upload.too_many_pixels", "upload.too_large"}

    assert await save_branding(workspace, form(remove_logo=True), None, https_only=False)
    assert brand.current.logo is None


async def test_a_change_reaches_another_process(database):
    """Two Workspaces with their own hub and broker stand for two server processes on one database."""
    if BACKEND != "postgres":
        # SQLite runs one server process: a change applies in it at once; the minute's reload is the safety net.
        hub = Hub()
        one = Workspace(database, MemoryBroker(hub), hub)
        other_hub = Hub()
        other = Workspace(database, MemoryBroker(other_hub), other_hub)
        await one.start()
        await other.start()
        try:
            await one.save({"site_name": "Changed"})
            other_hub.resync_all()  # what a broker reconnect does
            await wait_for(lambda: other.snapshot.values.get("site_name") == "Changed")
        finally:
            await one.stop()
            await other.stop()
        return
    from app.models import Conversation

    dsn = database.config["dsn"]
    processes = []
    for _ in range(2):
        hub = Hub()
        broker = PostgresBroker(hub, dsn, lambda sql, *args: Conversation.raw(sql, *args))
        await broker.start()
        ws = Workspace(database, broker, hub)
        await ws.start()
        processes.append((broker, ws))
    (_, one), (_, other) = processes
    try:
        started = time.monotonic()
        await one.save({"site_name": "Changed"})
        await wait_for(lambda: other.snapshot.values.get("site_name") == "Changed")
        assert time.monotonic() - started < 3
    finally:
        for broker, ws in processes:
            await ws.stop()
            await broker.stop()


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the other process did not reload"
        await asyncio.sleep(0.02)
