"""The visitor's rating of a resolved conversation (SPEC §10 CSAT): POST /chat/rating (`score`, `comment`). htmx
gets the rating box back; without JavaScript a 303 to the conversation, which then shows the thanks; a JSON client
gets JSON. Refusals (403, 409, 422) keep what was typed."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.routes._common import visitor_conversation
from app.services.ratings import RatingOffer, RatingRefused
from app.services.views import ThreadView
from app.web import EMBED_PATH, ApiError, in_embed, is_htmx, language, page, see_other, services_of, wants_json


async def _refused(
    request: Request[Any, Any, Any], conversation: ThreadView | None, refused: RatingRefused, data: dict[str, str]
) -> Template:
    """The refusal with what was typed: the rating box (htmx) or the conversation page; an error page when there is
    no box to show (no conversation, or not resolved without htmx). JSON clients get the app's JSON error."""
    message = translator(language(request))(f"error.{refused.code}")
    if wants_json(request):
        raise ApiError(detail=message, status_code=refused.status)
    services = services_of(request)
    offer = await services.ratings.offer(conversation.id) if conversation else None
    if conversation is None or (offer is None and not is_htmx(request)):
        template = "shared/_error.html" if is_htmx(request) else "error.html"
        return page(request, template, status_code=refused.status, status=refused.status, message=message)
    kept = {
        "rating": offer or RatingOffer(conversation.id, 0, None),
        "rating_error": message,
        "rating_score": data.get("score", ""),
        "rating_comment": data.get("comment", ""),
    }
    if is_htmx(request):
        return page(request, "visitor/_rating.html", status_code=refused.status, **kept)
    context = await services.visitor_pages.chat(conversation, language(request), embed=in_embed(request))
    return page(request, "visitor/index.html", status_code=refused.status, **{**context, **kept})


@post("/chat/rating", include_in_schema=False, status_code=303)
async def rate(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any] | Template:
    services = services_of(request)
    conversation = await visitor_conversation(request)
    conversation_id = conversation.id if conversation else None
    try:
        rated = await services.ratings.rate(
            conversation_id, data.get("conversation"), data.get("score"), data.get("comment")
        )
    except RatingRefused as refused:
        return await _refused(request, conversation, refused, data)
    if wants_json(request):
        return Response({"success": True, "score": rated.score, "resolution": rated.resolution_number})
    if is_htmx(request):
        return page(request, "visitor/_rating.html", rating=await services.ratings.offer(conversation_id or 0))
    return see_other(EMBED_PATH if in_embed(request) else "/")
