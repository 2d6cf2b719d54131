"""The pages' scripts and styles, bundled and served from memory under content-addressed URLs.

Each bundle is built once per process from the files in app/static (no build step: the sources stay as they
are): our own JavaScript is minified (rjsmin: comments and optional spaces out, names kept), CSS loses its
comments, the vendored htmx files are taken as published. A page then loads one script and one stylesheet —
on HTTP/1.1 every response costs its headers uncompressed, so three scripts cost two header blocks more than one.
Each bundle is gzip-compressed once (not per request; with Zopfli, whose gzip any browser reads and which is
about 3 % smaller than zlib's best, some 600 bytes of the visitor's 25 KB budget) and named by a hash of its bytes,
so its URL can be cached for a year (`immutable`) and a new release is a new URL.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import rjsmin
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from zopfli.gzip import compress as zopfli_gzip

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDORED = ("htmx-2.0.11.min.js", "htmx-ext-sse-2.2.4.min.js")
PAGE_SCRIPTS = (*VENDORED, "app.js")
BUNDLES: dict[str, tuple[str, ...]] = {
    "page.js": PAGE_SCRIPTS,
    "page.css": ("app.css",),
    # The dashboard: the visitor's page plus what only admins need (the thread list, the notification sound).
    "admin.js": (*PAGE_SCRIPTS, "admin.js"),
    "admin.css": ("app.css", "admin.css"),
    # The widget's iframe: the same page plus the code that talks to the host page.
    "embed-page.js": (*PAGE_SCRIPTS, "embed-frame.js"),
    "embed-page.css": ("app.css", "embed.css"),
    # What only an action needs (file preview, voice notes, the confirmation dialog): app.js loads it on first use.
    "later.js": ("later.js",),
}
# Litestar adds "; charset=utf-8" to text/* media types itself.
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
# ~0.1-0.5 s for the largest bundle, on its first request; 15 (the default) saves 20 bytes more in 3× the time.
ZOPFLI_ITERATIONS = 1
IMMUTABLE = "public, max-age=31536000, immutable"


def compact_js(source: str) -> str:
    """Our JavaScript minified by rjsmin (comments and every optional space out, names and code kept: it only
    tokenizes, so strings and regular expressions stay whole)."""
    return rjsmin.jsmin(source).strip() + "\n"


def compact_css(source: str) -> str:
    """CSS without comments, and without the spaces around `{ } ; , >` and after `:` (safe for our stylesheets:
    no string holds one of those next to a space, and no selector has a space before a pseudo-class)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    source = re.sub(r"\s*([{};,>])\s*", r"\1", source.strip())
    return re.sub(r":\s+", ":", source).replace(";}", "}") + "\n"


def _source(name: str) -> str:
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    if name in VENDORED:
        return text.rstrip() + "\n"
    return compact_js(text) if name.endswith(".js") else compact_css(text)


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    digest: str

    @property
    def url(self) -> str:
        return f"/assets/{self.digest}/{self.name}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[Path(self.name).suffix]


def build_assets() -> dict[str, Asset]:
    assets = {}
    for name, parts in BUNDLES.items():
        # ";" between scripts: a file that ends without one cannot run into the next.
        joiner = ";\n" if name.endswith(".js") else ""
        body = joiner.join(_source(part) for part in parts).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()[:12]
        assets[name] = Asset(name, body, digest)
    return assets


# Zopfli takes about a second for all the bundles together: each bundle is compressed when it is first asked for
# (in a worker thread, not on the event loop), then kept for the life of the process. A start-up pays nothing.
_GZIPPED: dict[str, bytes] = {}


async def gzipped(asset: Asset) -> bytes:
    body = _GZIPPED.get(asset.digest)
    if body is None:
        compress = functools.partial(zopfli_gzip, asset.body, numiterations=ZOPFLI_ITERATIONS)
        body = _GZIPPED[asset.digest] = await anyio.to_thread.run_sync(compress)
    return body


def asset_urls(assets: dict[str, Asset]) -> dict[str, str]:
    """For templates: `assets["page.js"]` is the current URL of that bundle."""
    return {name: asset.url for name, asset in assets.items()}


@get("/assets/{digest:str}/{name:str}", include_in_schema=False, exclude_from_csrf=True)
async def serve_asset(request: Request[Any, Any, Any], digest: FromPath[str], name: FromPath[str]) -> Any:
    assets: dict[str, Asset] = request.app.state.assets
    asset = assets.get(name)
    if asset is None:
        raise NotFoundException()
    if digest != asset.digest:  # a page from before a deploy: give it the current bundle, uncached
        return Redirect(path=asset.url, status_code=302, headers={"cache-control": "no-cache"})
    headers = {"cache-control": IMMUTABLE, "vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            content=await gzipped(asset),
            media_type=asset.content_type,
            headers={**headers, "content-encoding": "gzip"},
        )
    return Response(content=asset.body, media_type=asset.content_type, headers=headers)


ROUTES = [serve_asset]
