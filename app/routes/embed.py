"""The embeddable widget: the launcher script (`/embed.js`), the compact visitor page its iframe shows
(`/embed`), the admin's snippet page (`/admin/embed`) and a demo host page (`/embed/demo`, development only).

Caching of the launcher: the snippet names `/embed.js`, a fixed URL. It answers `302` to
`/embed/<version>/embed.js` (version = a hash of the file) and may be cached for an hour; the versioned URL never
changes content and is cached for a year (`immutable`). A site's visitors therefore download the script once,
and a new release reaches them within the hour. An unknown version redirects to the current one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.assets import compact_js
from app.i18n import LANGUAGES, translator
from app.routes._common import source_context, visitor_conversation, visitor_page_response
from app.services.visitor_page import VISITOR_COOKIE_AGE
from app.web import (
    LANG_COOKIE,
    PROBE_COOKIE,
    admin_guard,
    allowed_embed_origins,
    cookie,
    language,
    origin_of,
    page,
    services_of,
)

log = logging.getLogger("sohbet.embed")

SCRIPT_PATH = Path(__file__).resolve().parent.parent / "static" / "embed.js"
LAUNCHER_CACHE = "public, max-age=3600"
VERSIONED_CACHE = "public, max-age=31536000, immutable"
# A classic <script> from another site is a no-cors load; this keeps it loadable on hosts that require CORP (COEP).
CROSS_ORIGIN = {"cross-origin-resource-policy": "cross-origin"}


@functools.lru_cache(maxsize=4)
def launcher_script(brand: str = "{}") -> tuple[bytes, str]:
    """The launcher's bytes and version, with the workspace's branding and business hours (`brand`, JSON) written
    in: a change on /admin/settings makes a new version, which the hour-long redirect brings to every host site."""
    source = compact_js(SCRIPT_PATH.read_text(encoding="utf-8"))
    body = source.replace('"__SOHBET_BRAND__"', brand, 1).encode()
    return body, hashlib.sha256(body).hexdigest()[:12]


def current_launcher(request: Request[Any, Any, Any]) -> tuple[bytes, str]:
    services = services_of(request)
    brand = {**services.brand.current.launcher(), **services.away.launcher()}
    return launcher_script(json.dumps(brand, ensure_ascii=True, separators=(",", ":")))


def versioned_path(version: str) -> str:
    return f"/embed/{version}/embed.js"


# Both launcher routes skip the CSRF middleware: it would set its cookie on a script the host page loads.
@get("/embed.js", include_in_schema=False, exclude_from_csrf=True)
async def launcher(request: Request[Any, Any, Any]) -> Redirect:
    """The URL in the snippet: a redirect to the current version, cacheable for an hour."""
    _, version = current_launcher(request)
    return Redirect(
        path=versioned_path(version),
        status_code=302,
        headers={"cache-control": LAUNCHER_CACHE, **CROSS_ORIGIN},
    )


@get("/embed/{version:str}/embed.js", include_in_schema=False, exclude_from_csrf=True)
async def launcher_versioned(request: Request[Any, Any, Any], version: FromPath[str]) -> Response[bytes] | Redirect:
    body, current = current_launcher(request)
    if version != current:  # an older release (a cached redirect) or a made-up version: send the current one
        return Redirect(path=versioned_path(current), status_code=302, headers={"cache-control": "no-cache"})
    return Response(
        content=body,
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": VERSIONED_CACHE, "etag": f'"{current}"', **CROSS_ORIGIN},
    )


def embedding_origin(request: Request[Any, Any, Any]) -> str | None:
    """The origin of the page that frames us, when we can know it: the `origin` parameter embed.js passes, or,
    for a frame load from another site (`Sec-Fetch-Dest: iframe`, `Sec-Fetch-Site` not `same-origin`: our own
    page navigating inside the frame says nothing about the embedder), the Referer. None when unknown
    (frame-ancestors still rules)."""
    given = request.query_params.get("origin")
    if given is not None:
        return origin_of(given) or given[:200]
    headers = request.headers
    if headers.get("sec-fetch-dest") == "iframe" and headers.get("sec-fetch-site") != "same-origin":
        return origin_of(headers.get("referer"))
    return None


def language_from_host(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], list[Cookie]]:
    """The host site's language (`lang`, its data-lang), unless the visitor chose one in the widget before: the
    page's language and the cookie that keeps it."""
    wanted = request.query_params.get("lang")
    if wanted not in LANGUAGES or request.cookies.get(LANG_COOKIE):
        return {}, []
    settings = services_of(request).settings
    return {"lang": wanted, "t": translator(wanted)}, [cookie(settings, LANG_COOKIE, wanted, max_age=365 * 86400)]


@get("/embed", include_in_schema=False)
async def embed_page(request: Request[Any, Any, Any]) -> Template:
    """The visitor page, compact, for the widget's iframe. Query: `origin` (the host page's origin), `url` and
    `ref` (the host page and its referrer: visitor context for a new conversation), `lang` (en|tr)."""
    embedder = embedding_origin(request)
    if embedder is not None and embedder not in allowed_embed_origins(request):
        log.info(json.dumps({"event": "embed.refused", "origin": embedder}))
        t = translator(language(request))
        return page(request, "error.html", status_code=403, status=403, message=t("error.embed_forbidden"))
    context, cookies = language_from_host(request)
    conversation = await visitor_conversation(request)
    source = source_context(request, request.query_params.get("url"), request.query_params.get("ref"))
    fallback = {"src": "embed", "url": source["source_url"], "ref": source["source_referrer"]}
    fallback_url = "/?" + urlencode({k: v for k, v in fallback.items() if v})
    response = await visitor_page_response(request, conversation, source, fallback_url=fallback_url, **context)
    # Not HttpOnly: the page's script reads it back to learn whether this browser keeps cookies in the iframe.
    # (Every cookie set here becomes `SameSite=None; Secure; Partitioned` in app.web's before_send.)
    cookies.append(Cookie(key=PROBE_COOKIE, value="1", max_age=VISITOR_COOKIE_AGE, path="/", httponly=False))
    response.cookies.extend(cookies)
    return response


@get("/embed/demo", include_in_schema=False)
async def demo(request: Request[Any, Any, Any]) -> Template:
    """A pretend host site with the snippet, to try the widget in development (404 in production)."""
    if services_of(request).settings.is_production:
        raise NotFoundException("no demo in production")
    second = request.query_params.get("page") == "2"
    return page(request, "embed/demo.html", second=second)


@get("/admin/embed", guards=[admin_guard], include_in_schema=False)
async def admin_embed(request: Request[Any, Any, Any]) -> Template:
    """The snippet for site owners, with this installation's address filled in."""
    settings = services_of(request).settings
    base = settings.public_url or str(request.base_url).rstrip("/")
    return page(
        request,
        "admin/embed.html",
        base=base,
        link_text=translator(language(request))("embed.link_text"),
        origins=services_of(request).brand.current.embed_origins,
        public_url_set=bool(settings.public_url),
        https=base.startswith("https://"),
        demo=not settings.is_production,
    )


ROUTES = [launcher, launcher_versioned, embed_page, demo, admin_embed]
