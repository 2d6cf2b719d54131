"""Typing indicators (SPEC §10): a visitor's or an agent's composer says "typing" (app/static/later.js, at most
every 2 s while typing). Both answer 204 (the handlers declare 200: Litestar refuses 204 on a handler that may
return a page) and store nothing; what streams send is app/services/streams.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, post
from litestar.exceptions import NotFoundException
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.routes._common import visitor_token
from app.web import PathId, admin_guard, current_admin, language, page, services_of


@post("/chat/typing", include_in_schema=False, status_code=200)
async def visitor_typing(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[None] | Template:
    """The visitor types (`text`: their draft, shown to agents only with TYPING_PREVIEW=on). 409 without a
    conversation."""
    services = services_of(request)
    token = visitor_token(request)
    conversation_id = await services.conversations.id_for_visitor_token(token) if token else None
    if conversation_id is None:
        message = translator(language(request))("error.no_conversation")
        return page(request, "shared/_error.html", status_code=409, message=message)
    await services.typing.typing(conversation_id, "visitor", str(conversation_id), data.get("text"))
    return Response(None, status_code=204)


@post("/admin/threads/{thread_id:int}/typing", status_code=200)
async def agent_typing(request: Request[Any, Any, Any], thread_id: PathId) -> Response[None]:
    """An agent types a reply (their draft is never sent). 404 for a conversation that does not exist."""
    services = services_of(request)
    if await services.conversations.get(thread_id) is None:
        raise NotFoundException("no such conversation")
    await services.typing.typing(thread_id, "admin", current_admin(request).username)
    return Response(None, status_code=204)


router = Router(path="/", route_handlers=[agent_typing], guards=[admin_guard], include_in_schema=False)
