"""The pages' bundled script and stylesheet (app/assets.py): one of each per page, content-addressed, immutable,
compressed once, built from app/static without changing what runs."""

from __future__ import annotations

import gzip
import re

import httpx

from app.assets import STATIC_DIR, build_assets, compact_css, compact_js
from tests.support import login_admin


def page_assets(html: str) -> tuple[list[str], list[str]]:
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    return scripts, styles


def test_a_page_loads_one_script_and_one_stylesheet(server):
    scripts, styles = page_assets(httpx.get(server.url + "/").text)
    assert len(scripts) == 1 and re.fullmatch(r"/assets/[0-9a-f]{12}/page\.js", scripts[0]), scripts
    assert len(styles) == 1 and re.fullmatch(r"/assets/[0-9a-f]{12}/page\.css", styles[0]), styles


def test_bundle_is_htmx_its_sse_extension_and_app_js_compressed_and_immutable(server):
    [script], [style] = page_assets(httpx.get(server.url + "/").text)
    with httpx.stream("GET", server.url + script, headers={"accept-encoding": "gzip"}) as response:
        wire = b"".join(response.iter_raw())
        headers = response.headers
    assert response.status_code == 200 and headers["content-encoding"] == "gzip"
    assert headers["content-type"].startswith("text/javascript")
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "set-cookie" not in headers and "accept-encoding" in headers["vary"].lower()
    assert "default-src 'self'" in headers["content-security-policy"] and headers["x-content-type-options"] == "nosniff"
    body = gzip.decompress(wire).decode()
    htmx = (STATIC_DIR / "htmx-2.0.11.min.js").read_text().strip()
    sse = (STATIC_DIR / "htmx-ext-sse-2.2.4.min.js").read_text().strip()
    app_js = compact_js((STATIC_DIR / "app.js").read_text())
    # In this order, each whole: the vendored files byte for byte, ours without comments.
    assert body.index(htmx) < body.index(sse) < body.index(app_js)
    assert "htmx:sseBeforeMessage" in app_js and "Keep the stream's cursor" not in app_js
    # The URL names the content: the digest is the SHA-256 of the uncompressed bundle.
    assert script.split("/")[2] == build_assets()["page.js"].digest
    # Without gzip the same bytes, uncompressed.
    plain = httpx.get(server.url + script, headers={"accept-encoding": "identity"})
    assert plain.text == body and "content-encoding" not in plain.headers

    css = httpx.get(server.url + style)
    assert css.headers["content-type"].startswith("text/css") and "/*" not in css.text
    assert css.text == compact_css((STATIC_DIR / "app.css").read_text())


def test_an_old_or_unknown_asset(server):
    [script], _ = page_assets(httpx.get(server.url + "/").text)
    stale = httpx.get(server.url + "/assets/000000000000/page.js")
    assert stale.status_code == 302 and stale.headers["location"] == script  # a page from before a deploy
    assert stale.headers["cache-control"] == "no-cache"
    assert httpx.get(server.url + "/assets/000000000000/nothing.js").status_code == 404
    assert httpx.get(server.url + "/assets/000000000000/../app.js").status_code == 404


def test_compaction_keeps_code_and_drops_comments():
    source = '/* header\n   comment */\n(function () {\n  // a note\n  var a = "x"; // trailing\n\n  a += 1;\n})();\n'
    assert compact_js(source) == '(function(){var a="x";a+=1;})();\n'
    # Strings and regular expressions stay whole.
    assert compact_js('var s = "a  //  b", r = / +x/g;') == 'var s="a  //  b",r=/ +x/g;\n'
    css = "/* a */\n.a, .b > p {\n  color: red; /* b */\n  margin: 0 auto;\n}\n"
    css += "@media (min-width: 48rem) {\n  .a:hover { x: 1; }\n}\n"
    assert compact_css(css) == ".a,.b>p{color:red;margin:0 auto}@media (min-width:48rem){.a:hover{x:1}}\n"


def test_admin_pages_add_the_dashboard_code_that_visitors_never_download(server):
    admin = login_admin(server)
    [admin_script], [admin_style] = page_assets(admin.get("/admin").text)
    assert re.fullmatch(r"/assets/[0-9a-f]{12}/admin\.js", admin_script)
    assert re.fullmatch(r"/assets/[0-9a-f]{12}/admin\.css", admin_style)
    [script], [style] = page_assets(httpx.get(server.url + "/").text)
    visitor_js, visitor_css = httpx.get(server.url + script).text, httpx.get(server.url + style).text
    dashboard_js, dashboard_css = httpx.get(server.url + admin_script).text, httpx.get(server.url + admin_style).text
    assert dashboard_js.startswith(visitor_js.rstrip()) and "data-notify-sound" in dashboard_js
    assert "data-notify-sound" not in visitor_js
    assert dashboard_css.startswith(visitor_css) and ".threads-pane" in dashboard_css
    assert ".threads-pane" not in visitor_css
