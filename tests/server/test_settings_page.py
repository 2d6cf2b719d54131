"""Workspace branding over HTTP (SPEC §14): /admin/settings (the form, per-field errors that keep what was typed
and save nothing, CSRF, admins only), the logo and the accent stylesheet served with caching headers, the visitor
page and the widget using them, and the embedding sites applying without a restart (frame-ancestors, /embed's
own check)."""

from __future__ import annotations

import io
import re
import zipfile

import httpx
from PIL import Image

from tests.server.test_embed import csp_of
from tests.support import Browser, base_env, create_database, drop_database, login_admin, sohbet

SHOP = "https://shop.example"
NEW_SHOP = "https://new-shop.example"
GREEN = "#1a5e20"
FIELDS = {"site_name": "Acme Shoes", "accent": GREEN, "greeting": "Merhaba! Ask us about sizes.", "embed_origins": SHOP}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (26, 94, 32)).save(out, "PNG")
    return out.getvalue()


def field_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'name="{name}"[^>]*>([^<]*)</textarea>', page
    )
    assert found, f"no field {name}"
    return found.group(1)


def save(admin: Browser, fields: dict[str, str], **kwargs) -> httpx.Response:
    return admin.post("/admin/settings", fields, **kwargs)


def test_the_settings_page_saves_branding_and_the_pages_use_it(make_server):
    server = make_server("brand", EMBED_ORIGINS=SHOP)
    admin = login_admin(server)
    page = admin.get("/admin/settings")
    assert page.status_code == 200
    assert 'href="/admin/settings" aria-current="page"' in page.text  # in the dashboard's navigation
    assert 'enctype="multipart/form-data"' in page.text
    assert field_value(page.text, "embed_origins") == SHOP  # the environment's list, until saved here
    assert 'href="/admin/settings"' in admin.get("/admin").text

    saved = save(admin, FIELDS, files={"logo": ("logo.png", png(), "image/png")})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/settings?saved=1"
    page = admin.get("/admin/settings?saved=1")
    assert "Settings saved." in page.text
    assert field_value(page.text, "site_name") == "Acme Shoes" and field_value(page.text, "accent") == GREEN

    # The visitor page: the site name, the logo, the greeting, the accent stylesheet.
    visitor = httpx.get(server.url + "/")
    assert "Acme Shoes" in visitor.text and "Merhaba! Ask us about sizes." in visitor.text
    logo_url = re.search(r'<img src="(/brand/logo\?v=[0-9a-f]+)"', visitor.text).group(1)
    css_url = re.search(r'<link rel="stylesheet" href="(/brand\.css\?v=[0-9a-f]+)">', visitor.text).group(1)

    logo = httpx.get(server.url + logo_url)
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    assert logo.content.startswith(b"\x89PNG") and "immutable" in logo.headers["cache-control"]
    assert logo.headers["x-content-type-options"] == "nosniff"
    stable = httpx.get(server.url + "/brand/logo")  # the stable URL: the same image, cached briefly
    assert stable.content == logo.content and stable.headers["cache-control"] == "public, max-age=300"

    css = httpx.get(server.url + css_url)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert f"--accent:{GREEN}" in css.text and "immutable" in css.headers["cache-control"]

    # The widget: its page shows the same; the launcher script carries the accent, name and greeting.
    embed = httpx.get(server.url + "/embed", headers={"sec-fetch-dest": "iframe"})
    assert "Acme Shoes" in embed.text and css_url in embed.text
    launcher = httpx.get(server.url + "/embed.js", follow_redirects=True)
    assert f'"c":"{GREEN}"' in launcher.text and '"n":"Acme Shoes"' in launcher.text

    # Removing the logo.
    assert save(admin, {**FIELDS, "remove_logo": "1"}).status_code == 303
    assert httpx.get(server.url + "/brand/logo").status_code == 404
    assert "/brand/logo" not in httpx.get(server.url + "/").text


def test_errors_keep_what_was_typed_and_save_nothing(make_server):
    server = make_server("brand-errors")
    admin = login_admin(server)
    wrong = {
        "site_name": "Kept Name",
        "accent": "#ffd700",
        "greeting": "Kept greeting",
        "embed_origins": "https://ok.example\nshop.example/path",
    }
    answer = save(admin, wrong, files={"logo": ("evil.png", b"<svg><script>alert(1)</script></svg>", "image/png")})
    assert answer.status_code == 422
    text = answer.text
    assert "Nothing was saved" in text
    assert field_value(text, "site_name") == "Kept Name" and field_value(text, "accent") == "#ffd700"
    assert field_value(text, "greeting") == "Kept greeting"
    assert field_value(text, "embed_origins") == "https://ok.example\nshop.example/path"
    assert 'id="accent" ' in text and 'aria-describedby="accent-error"' in text
    assert "white text on this colour has a contrast of 1.4:1" in text
    assert "shop.example/path is not a site address" in text
    assert 'id="logo-error"' in text
    assert "Settings saved." not in text

    page = admin.get("/admin/settings").text
    assert field_value(page, "site_name") == "" and field_value(page, "accent") == "#0b5cad"
    visitor = httpx.get(server.url + "/").text
    assert "Kept" not in visitor and "/brand.css" not in visitor  # the default accent: no extra stylesheet
    assert 'class="site-head"' not in visitor  # no name or logo set: the page as before

    admin.get("/lang/tr?next=/admin/settings")
    assert "Çok açık" in save(admin, wrong).text


def test_only_an_admin_with_a_csrf_token_may_change_settings(make_server):
    server = make_server("brand-guard")
    stranger = Browser(server.url)
    assert stranger.get("/admin/settings").status_code in (302, 303, 401)
    refused = stranger.post("/admin/settings", FIELDS)
    assert refused.status_code in (302, 303, 401, 403)
    admin = login_admin(server)
    no_csrf = admin.post("/admin/settings", FIELDS, csrf=False)
    assert no_csrf.status_code == 403
    assert "Acme Shoes" not in httpx.get(server.url + "/").text


def test_a_new_embedding_site_applies_without_a_restart(make_server):
    server = make_server("brand-embed", EMBED_ORIGINS=SHOP)
    frame = {"sec-fetch-dest": "iframe", "sec-fetch-site": "cross-site"}
    assert csp_of(httpx.get(server.url + "/embed"))["frame-ancestors"] == f"'self' {SHOP}"
    refused = httpx.get(server.url + "/embed", headers={**frame, "referer": NEW_SHOP + "/"})
    assert refused.status_code == 403

    admin = login_admin(server)
    embed_page = admin.get("/admin/embed").text
    assert 'class="error"' not in embed_page and "restart" not in embed_page
    assert 'href="/admin/settings#embed_origins"' in embed_page
    assert save(admin, {**FIELDS, "embed_origins": f"{SHOP}\n{NEW_SHOP}"}).status_code == 303

    accepted = httpx.get(server.url + "/embed", headers={**frame, "referer": NEW_SHOP + "/"})
    assert accepted.status_code == 200
    assert csp_of(accepted)["frame-ancestors"] == f"'self' {SHOP} {NEW_SHOP}"
    assert csp_of(httpx.get(server.url + "/static/app.js"))["frame-ancestors"] == f"'self' {SHOP} {NEW_SHOP}"
    assert csp_of(admin.get("/admin"))["frame-ancestors"] == "'self'"  # admin pages: never framed
    assert f"<code>{NEW_SHOP}</code>" in admin.get("/admin/embed").text

    # Emptied: only Sohbet itself.
    assert save(admin, {**FIELDS, "embed_origins": ""}).status_code == 303
    assert csp_of(httpx.get(server.url + "/"))["frame-ancestors"] == "'self'"
    assert "None yet" in admin.get("/admin/embed").text


def test_a_backup_keeps_the_workspace_settings_and_the_logo(make_server, tmp_path):
    server = make_server("brand-backup")
    admin = login_admin(server)
    image = png()
    assert save(admin, FIELDS, files={"logo": ("logo.png", image, "image/png")}).status_code == 303
    logo = httpx.get(server.url + "/brand/logo").content

    archive = tmp_path / "brand.zip"
    made = sohbet(server.env, "backup", str(archive))
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(archive) as opened:
        assert "tables/workspace_setting.jsonl" in opened.namelist()

    url = create_database(tmp_path)
    env = {**base_env(tmp_path, url), "ENCRYPTION_KEYS": server.env["ENCRYPTION_KEYS"]}
    restored = sohbet(env, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    again = make_server("brand-restored", DATABASE_URL=url, ENCRYPTION_KEYS=server.env["ENCRYPTION_KEYS"])
    page = httpx.get(again.url + "/").text
    assert (
        "Acme Shoes" in page
        and "Merhaba! Ask us about sizes." in page
        and f"--accent:{GREEN}"
        in httpx.get(again.url + re.search(r'href="(/brand\.css\?v=[0-9a-f]+)"', page).group(1)).text
    )
    assert httpx.get(again.url + "/brand/logo").content == logo
    assert csp_of(httpx.get(again.url + "/"))["frame-ancestors"] == f"'self' {SHOP}"
    again.stop()
    drop_database(url)
