"""The embeddable widget over HTTP: /embed (frame-ancestors, refusal of other sites, CHIPS cookies), the launcher
script (caching, versioned URL, compressed size), the demo page, the admin's snippet page, and the visitor
context (validated, stored, shown escaped)."""

from __future__ import annotations

import gzip
import html
import re
from collections.abc import Callable
from urllib.parse import quote, urlencode

import httpx
import pytest

from tests.support import CSRF_RE, Server, login_admin

SHOP = "http://shop.example:8080"
OTHER = "https://www.example.org"
EMBED_ORIGINS = f"{SHOP},{OTHER}"
LAUNCHER_BUDGET = 3 * 1024  # bytes, gzip-compressed (SPEC §7, issue 6)
CHIPS = ("SameSite=None", "Secure", "Partitioned")


def csp_of(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else "" for part in policy.split("; ")}


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """name -> the whole Set-Cookie value."""
    return {value.split("=", 1)[0]: value for value in response.headers.get_list("set-cookie")}


def attributes(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")[1:]}


class Frame:
    """The widget's iframe, as a browser on http://127.0.0.1 sees it: it keeps every cookie it is given (Chromium
    counts loopback as secure), whatever its attributes; httpx's jar would not send Secure cookies over http."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.url, follow_redirects=False, timeout=10)
        self.jar: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.jar:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        response = self.http.request(method, path, headers=headers, **kwargs)
        for name, header in set_cookies(response).items():
            value = header.split(";", 1)[0].split("=", 1)[1]
            if "Max-Age=0" in header or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        match = CSRF_RE.search(response.text) if "text/html" in response.headers.get("content-type", "") else None
        if match:
            self.csrf = match.group(1)
        return response

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, str], **kwargs) -> httpx.Response:
        return self.request("POST", path, data={**data, "_csrf_token": self.csrf}, **kwargs)

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def server(make_server: Callable[..., Server]) -> Server:
    return make_server("embed", EMBED_ORIGINS=EMBED_ORIGINS, PUBLIC_URL="https://chat.example.test")


def embed_url(**params: str) -> str:
    return "/embed?" + urlencode(params)


# -- /embed: who may frame it ---------------------------------------------------------------------------------


def test_embed_page_frame_ancestors_and_headers(server):
    response = httpx.get(server.url + embed_url(origin=SHOP))
    assert response.status_code == 200
    assert csp_of(response)["frame-ancestors"] == f"'self' {SHOP} {OTHER}"  # exactly 'self' + EMBED_ORIGINS
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "x-frame-options" not in response.headers  # it would forbid every embedding site
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert 'class="visitor embed"' in page
    assert f'data-embed-origins="{server.url} https://chat.example.test {SHOP} {OTHER}"' in page
    # The compact page is the visitor page: the same start form, with the embed marker on its actions.
    assert 'action="/chat/start?embed=1"' in page and 'hx-post="/chat/start?embed=1"' in page
    assert re.search(r'src="/assets/[0-9a-f]{12}/embed-page\.js"', page)  # page.js + embed-frame.js
    assert re.search(r'href="/assets/[0-9a-f]{12}/embed-page\.css"', page)  # app.css + embed.css
    assert 'id="embed-blocked"' in page and "hidden" in page.split('id="embed-blocked"')[1].split(">")[0]


def test_admin_pages_are_never_frameable_by_embedding_sites(server):
    for path in ("/login", "/admin"):
        response = httpx.get(server.url + path)
        assert csp_of(response)["frame-ancestors"] == "'self'", path
    # The visitor page keeps SPEC §4's list.
    assert csp_of(httpx.get(server.url + "/"))["frame-ancestors"] == f"'self' {SHOP} {OTHER}"


@pytest.mark.parametrize(
    "query,headers",
    [
        ({"origin": "https://evil.example"}, {}),
        ({"origin": "http://shop.example:8081"}, {}),  # another port is another origin
        ({"origin": "not an origin"}, {}),
        ({}, {"sec-fetch-dest": "iframe", "referer": "https://evil.example/page"}),
    ],
)
def test_embed_refuses_a_known_embedding_origin_that_is_not_allowed(server, query, headers):
    response = httpx.get(server.url + embed_url(**query), headers=headers)
    assert response.status_code == 403
    assert "not allowed to show the chat" in response.text
    assert 'action="/chat/start' not in response.text
    assert csp_of(response)["frame-ancestors"] == f"'self' {SHOP} {OTHER}"  # the browser's own refusal


@pytest.mark.parametrize(
    "query,headers",
    [
        ({"origin": SHOP}, {}),
        ({"origin": OTHER + "/"}, {}),
        ({}, {"sec-fetch-dest": "iframe", "referer": f"{SHOP}/products/1"}),
        ({}, {"sec-fetch-dest": "iframe"}),  # no Referer (no-referrer policy): unknown, frame-ancestors rules
        # Our own page navigating inside the frame (after "end chat"), whatever name a proxy gave us.
        ({}, {"sec-fetch-dest": "iframe", "sec-fetch-site": "same-origin", "referer": "https://internal.example/x"}),
        ({}, {"sec-fetch-dest": "document", "referer": "https://evil.example/"}),  # a top-level visit: not framed
    ],
)
def test_embed_renders_for_allowed_or_unknown_embedders(server, query, headers):
    response = httpx.get(server.url + embed_url(**query), headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert 'action="/chat/start?embed=1"' in response.text


def test_the_own_origin_may_embed_itself(server):
    """The demo page and PUBLIC_URL are Sohbet itself: 'self'."""
    for origin in (server.url, "https://chat.example.test"):
        assert httpx.get(server.url + embed_url(origin=origin)).status_code == 200, origin


# -- the launcher script ---------------------------------------------------------------------------------------


def test_launcher_redirects_to_a_versioned_immutable_script(server):
    short = httpx.get(server.url + "/embed.js")
    assert short.status_code == 302
    assert short.headers["cache-control"] == "public, max-age=3600"
    location = short.headers["location"]
    assert re.fullmatch(r"/embed/[0-9a-f]{12}/embed\.js", location)
    assert "set-cookie" not in short.headers  # no CSRF cookie on a script the host page loads

    with httpx.stream("GET", server.url + location, headers={"accept-encoding": "gzip"}) as script:
        wire = b"".join(script.iter_raw())
        headers = script.headers
    assert script.status_code == 200
    assert headers["content-type"].startswith("text/javascript")
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["cross-origin-resource-policy"] == "cross-origin"
    assert headers["etag"] == f'"{location.split("/")[2]}"'
    assert headers["content-encoding"] == "gzip"
    assert "set-cookie" not in headers
    body = gzip.decompress(wire)
    print(f"\nembed.js: {len(body)} bytes, {len(wire)} bytes gzip on the wire (budget {LAUNCHER_BUDGET})")
    assert len(wire) <= LAUNCHER_BUDGET
    text = body.decode()
    assert "a[data-sohbet]" in text and "adoptedStyleSheets" in text
    assert "/*" not in text  # served compacted
    assert "innerHTML" not in text and ".style." not in text and "eval(" not in text

    # A made-up or older version goes to the current one, uncached.
    stale = httpx.get(server.url + "/embed/000000000000/embed.js")
    assert stale.status_code == 302 and stale.headers["location"] == location
    assert stale.headers["cache-control"] == "no-cache"


def test_sohbet_pages_do_not_load_the_widget(server):
    for path in ("/", "/login"):
        page = httpx.get(server.url + path).text
        assert "embed.js" not in page and "embed-frame.js" not in page and "embed.css" not in page, path
        assert "data-embed-origins" not in page


# -- demo and admin page -----------------------------------------------------------------------------------------


def test_demo_page_in_development_only(server, make_server):
    demo = httpx.get(server.url + "/embed/demo")
    assert demo.status_code == 200
    assert '<a href="/?src=embed" data-sohbet' in demo.text and '<script src="/embed.js" defer>' in demo.text
    production = make_server(
        "embed-prod",
        ENVIRONMENT="production",
        SECRET_KEY="p" * 48,
        ADMIN_PASSWORD="long-enough-password-1",
        PUBLIC_URL="https://chat.example.test",
        METRICS_TOKEN="metrics-" + "t" * 24,
    )
    assert httpx.get(production.url + "/embed/demo").status_code == 404
    assert httpx.get(production.url + "/embed.js").status_code == 302  # the widget itself works there


def test_admin_embed_page_shows_the_snippet_with_the_public_url(server, make_server):
    assert httpx.get(server.url + "/admin/embed").status_code == 303  # login first
    admin = login_admin(server)
    assert 'href="/admin/embed"' in admin.get("/admin").text  # linked from the dashboard
    page = admin.get("/admin/embed")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    snippet = re.search(r'<code id="snippet">(.*?)</code>', page.text, re.S).group(1)
    assert snippet == (
        "&lt;a href=&#34;https://chat.example.test/?src=embed&#34; data-sohbet&gt;Chat with us&lt;/a&gt;\n"
        "&lt;script src=&#34;https://chat.example.test/embed.js&#34; defer&gt;&lt;/script&gt;"
    )
    assert f"<code>{SHOP}</code>" in page.text and f"<code>{OTHER}</code>" in page.text
    assert 'href="/embed/demo"' in page.text

    # Without PUBLIC_URL: the address this request reached; without embedding sites: where to add them (no error).
    bare = make_server("embed-bare")
    bare_admin = login_admin(bare)
    page = bare_admin.get("/admin/embed").text
    assert f"&lt;script src=&#34;{bare.url}/embed.js&#34; defer&gt;" in page
    assert '<p id="embed-origins">None yet' in page and 'href="/admin/settings#embed_origins"' in page


# -- cookies in the iframe -----------------------------------------------------------------------------------


def test_cookies_in_the_embed_context_are_chips(server):
    frame = Frame(server)
    try:
        page = frame.get(embed_url(origin=SHOP, lang="tr"))
        cookies = set_cookies(page)
        assert set(cookies) == {"csrftoken", "sohbet_probe", "sohbet_lang"}
        for header in cookies.values():
            assert set(CHIPS) <= attributes(header), header
            assert "SameSite=lax" not in header, header
        assert "HttpOnly" in attributes(cookies["csrftoken"])
        assert "HttpOnly" not in attributes(cookies["sohbet_probe"])  # the page's script reads it
        assert '<html lang="tr">' in page.text  # data-lang, as no language was chosen before

        started = frame.post("/chat/start?embed=1", {"display_name": "Gömülü"})
        assert started.status_code == 303 and started.headers["location"] == "/embed"
        visitor = set_cookies(started)["sohbet_visitor"]
        assert set(CHIPS) | {"HttpOnly"} <= attributes(visitor)

        chat = frame.get("/embed")
        assert chat.status_code == 200
        assert 'sse-connect="/chat/events?after=0&amp;embed=1"' in chat.text
        assert 'action="/chat/end?embed=1"' in chat.text and 'hx-post="/chat/messages?embed=1"' in chat.text
        sent = frame.post("/chat/messages?embed=1", {"text": "from the widget"})
        assert sent.status_code == 303 and sent.headers["location"] == "/embed"
        assert "from the widget" in frame.get("/embed").text

        switched = frame.get("/lang/en?embed=1&next=/embed")
        assert set(CHIPS) <= attributes(set_cookies(switched)["sohbet_lang"])

        ended = frame.post("/chat/end?embed=1", {"confirm": "yes"})
        assert ended.status_code == 200 and 'href="/embed">Start a new chat</a>' in ended.text
        gone = set_cookies(ended)["sohbet_visitor"]
        assert "Max-Age=0" in gone and set(CHIPS) <= attributes(gone)  # deletes the partitioned cookie
    finally:
        frame.close()


def test_cookies_outside_the_embed_context_stay_lax(server):
    frame = Frame(server)
    try:
        page = frame.get("/")
        assert "SameSite=lax" in set_cookies(page)["csrftoken"]
        started = frame.post("/chat/start", {"display_name": "First party"})
        assert started.headers["location"] == "/"
        visitor = set_cookies(started)["sohbet_visitor"]
        assert "SameSite=lax" in visitor and "Partitioned" not in visitor
    finally:
        frame.close()


# -- visitor context ------------------------------------------------------------------------------------------

GOOD_PAGE = f"{SHOP}/products/42?colour=red&size='M'"
GOOD_REFERRER = "https://search.example/?q=s%C3%BCt+&x=1"


def hidden_fields(page: str) -> dict[str, str]:
    """The start form's hidden inputs, as a browser would submit them."""
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(source_\w+)" value="([^"]*)">', page)
    }


def start_embedded(server: Server, name: str, **params: str) -> Frame:
    frame = Frame(server)
    page = frame.get(embed_url(origin=SHOP, **params)).text
    assert frame.post("/chat/start?embed=1", {"display_name": name, **hidden_fields(page)}).status_code == 303
    return frame


def thread_page(admin, name: str) -> str:
    listing = admin.get("/admin").text
    for match in re.finditer(r'<li id="thread-(\d+)".*?<span class="name">(.*?)</span>', listing, re.S):
        if match.group(2) == name:
            return admin.get(f"/admin/threads/{match.group(1)}").text
    raise AssertionError(f"no thread {name}")


def test_visitor_context_is_stored_and_shown_as_escaped_links(server):
    frame = start_embedded(server, "Context", url=GOOD_PAGE + "#reviews", ref=GOOD_REFERRER)
    frame.close()
    page = thread_page(login_admin(server), "Context")
    shown_page = f"{SHOP}/products/42?colour=red&amp;size=&#39;M&#39;"  # fragment dropped, text escaped
    assert f'<a href="{shown_page}" target="_blank" rel="noopener nofollow noreferrer">{shown_page}</a>' in page, page
    referrer = GOOD_REFERRER.replace("&", "&amp;")
    assert f'<a href="{referrer}" target="_blank" rel="noopener nofollow noreferrer">{referrer}</a>' in page


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)//" + SHOP,
        "data:text/html,<script>alert(1)</script>",
        "https://evil.example/phish",  # not an embedding site
        f"{SHOP}/" + "a" * 1000,  # too long
        "http://user:pass@shop.example:8080/",  # credentials
        f'{SHOP}/x"><script>alert(1)</script>',  # a browser would have encoded these
        f"{SHOP}/a b",
        "//shop.example:8080/relative",
        "",
    ],
)
def test_bad_page_urls_are_ignored(server, url):
    name = f"Bad {abs(hash(url)) % 10**8}"
    frame = Frame(server)
    try:
        page = frame.get(embed_url(origin=SHOP, url=url, ref=GOOD_REFERRER)).text
        assert 'name="source_url"' not in page and 'name="source_referrer"' not in page
        # Forged straight into the form, it is checked again and dropped.
        response = frame.post(
            "/chat/start?embed=1", {"display_name": name, "source_url": url, "source_referrer": GOOD_REFERRER}
        )
        assert response.status_code == 303
    finally:
        frame.close()
    page = thread_page(login_admin(server), name)
    assert 'class="source' not in page
    assert "<script>alert(1)" not in page and "javascript:" not in page


def test_bad_referrers_are_dropped_but_the_page_is_kept(server):
    for index, referrer in enumerate(["javascript:alert(1)", "https://x.example/<b>", "ftp://files.example/"]):
        name = f"Referrer {index}"
        start_embedded(server, name, url=GOOD_PAGE, ref=referrer).close()
        page = thread_page(login_admin(server), name)
        assert 'class="source hint"' in page and "products/42" in page
        assert "came from" not in page, referrer


def test_the_widget_link_records_context_without_javascript(server):
    """The snippet's plain link (no JavaScript): the Referer from an embedding site is the page."""
    browser = Frame(server)
    try:
        page = browser.get("/?src=embed", headers={"referer": f"{SHOP}/cart"}).text
        assert f'name="source_url" value="{SHOP}/cart"' in page
        stranger = browser.get("/?src=embed", headers={"referer": "https://evil.example/"}).text
        assert 'name="source_url"' not in stranger
        # embed.js's new-window fallback passes the page explicitly.
        explicit = browser.get("/?" + urlencode({"src": "embed", "url": f"{OTHER}/help", "ref": GOOD_REFERRER}))
        assert f'name="source_url" value="{OTHER}/help"' in explicit.text
        assert f'name="source_referrer" value="{GOOD_REFERRER.replace("&", "&amp;")}"' in explicit.text
        assert 'name="source_url"' not in browser.get("/").text  # only for the widget's link
    finally:
        browser.close()


def test_embed_fallback_link_carries_the_context(server):
    page = httpx.get(server.url + embed_url(origin=SHOP, url=f"{SHOP}/a", ref="https://r.example/")).text
    expected = "/?" + urlencode({"src": "embed", "url": f"{SHOP}/a", "ref": "https://r.example/"}).replace("&", "&amp;")
    assert f'href="{expected}" target="_blank" rel="noopener"' in page
    assert quote(f"{SHOP}/a", safe="") in page
