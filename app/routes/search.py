"""Search (SPEC §10), agents and owners: GET /admin/search?q= (the page; the dashboard bar's box asks it with htmx
for the results alone) and GET /api/search?q= (the same as JSON). The words are looked up in the blind index
(app/services/search.py); a query without a word of two letters or more is a clear 422."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Router, get
from litestar.params import FromQuery
from litestar.response import Template

from app.i18n import translator
from app.routes._common import COMMON_ERRORS, errors
from app.services.search import Hit, SearchRefused
from app.web import ApiError, admin_guard, is_htmx, language, page, services_of

Query = FromQuery[str | None]
QUERY_MAX = 200


@get("/admin/search", include_in_schema=False)
async def search_page(request: Request[Any, Any, Any], q: Query = None) -> Template:
    """The results for `q` (none asked: the empty form)."""
    query = (q or "").strip()[:QUERY_MAX]
    template = "admin/_search_results.html" if is_htmx(request) else "admin/search.html"
    if not query:
        return page(request, template, q="", hits=None)
    try:
        hits = await services_of(request).search.find(query, language(request))
    except SearchRefused as refused:
        error = translator(language(request))(f"error.{refused.code}")
        return page(request, template, status_code=422, q=query, hits=None, error=error)
    return page(request, template, q=query, hits=hits)


@dataclass
class SearchHitOut:
    thread_id: int
    display_name: str
    last_activity_at: str  # ISO 8601
    status: str
    snippet: str
    matched: list[str]  # the words of the snippet that matched, as written there
    snippet_sender: str  # visitor | admin | note, or "" when only the visitor's name or email matched


@dataclass
class SearchResponse:
    success: bool
    results: list[SearchHitOut]


def _out(hit: Hit) -> SearchHitOut:
    text = "".join(piece for piece, _ in hit.snippet)
    matched = [piece for piece, hit_piece in hit.snippet if hit_piece]
    return SearchHitOut(
        hit.conversation_id,
        hit.display_name,
        hit.last_activity_at.isoformat(),
        hit.status,
        text,
        matched,
        hit.snippet_sender,
    )


@get("/api/search", guards=[admin_guard], tags=["threads"], responses=errors(*COMMON_ERRORS, 422))
async def api_search(request: Request[Any, Any, Any], q: Query = None) -> SearchResponse:
    """Conversations whose messages (notes included), visitor name or email hold every word of `q`, case and
    accents ignored (Turkish İ/ı/I/i too), newest activity first, at most 50, each with a decrypted snippet."""
    try:
        hits = await services_of(request).search.find((q or "")[:QUERY_MAX], language(request))
    except SearchRefused as refused:
        raise ApiError(detail=translator(language(request))(f"error.{refused.code}"), status_code=422) from None
    return SearchResponse(success=True, results=[_out(hit) for hit in hits])


router = Router(path="/", route_handlers=[search_page], guards=[admin_guard])
API_ROUTES = [api_search]
