"""Visitor pages: the start form, the conversation, sending, ending. Plain posts + 303 without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template

from app.i18n import LANGUAGES, translator
from app.limits import BODY_LIMIT, UPLOAD
from app.routes._common import respond, submit_composer
from app.services.conversations import ThreadView
from app.services.presence import ADMIN
from app.services.retention import describe
from app.services.text import TextError, clean_display_name
from app.web import (
    EMBED_PATH,
    LANG_COOKIE,
    VISITOR_COOKIE,
    allowed_embed_origins,
    clean_source_url,
    cookie,
    expired_cookie,
    in_embed,
    is_htmx,
    language,
    origin_of,
    page,
    see_other,
    sohbet,
    thread_display_name,
)

VISITOR_COOKIE_AGE = 30 * 86400


async def visitor_conversation(request: Request[Any, Any, Any]) -> ThreadView | None:
    """The conversation this browser's signed cookie is bound to, if it still exists."""
    app = sohbet(request)
    token = app.visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
    if token is None:
        return None
    return await app.conversations.by_visitor_token(token)


async def chat_context(request: Request[Any, Any, Any], conversation: ThreadView) -> dict[str, Any]:
    app = sohbet(request)
    messages, has_more = await app.conversations.page(conversation.id)
    return {
        "conversation": conversation,
        "messages": messages,
        "has_more": has_more,
        "display_name": thread_display_name(conversation, language(request)),
        "cursor": conversation.last_seq,
        "support_online": await app.presence.is_online(ADMIN),
        "viewer": "visitor",
        "post_url": "/chat/messages" + ("?embed=1" if in_embed(request) else ""),
        "retention_notice": retention_notice(request),
    }


def home_url(request: Request[Any, Any, Any]) -> str:
    """Where the visitor's conversation lives: the page, or the widget's compact page inside the iframe."""
    return EMBED_PATH if in_embed(request) else "/"


def source_context(
    request: Request[Any, Any, Any], url: str | None, referrer: str | None, *, allowed: list[str] | None = None
) -> dict[str, str | None]:
    """Visitor context for a new conversation: the host page (its origin must be allowed to embed us) and that
    page's referrer (any http(s) URL). Anything else is dropped, never stored; the referrer only with a page."""
    page_url = clean_source_url(url, allowed if allowed is not None else allowed_embed_origins(request))
    return {"source_url": page_url, "source_referrer": clean_source_url(referrer, None) if page_url else None}


def retention_notice(request: Request[Any, Any, Any]) -> str:
    """'Messages are deleted after 30 days.' when MESSAGE_RETENTION is on, else ''."""
    seconds = sohbet(request).settings.message_retention_seconds
    if not seconds:
        return ""
    t = translator(language(request))
    return t("retention.notice").format(duration=describe(seconds, t))


@get("/", include_in_schema=False)
async def index(request: Request[Any, Any, Any]) -> Template:
    conversation = await visitor_conversation(request)
    if conversation is None:
        source: dict[str, str | None] = {}
        if request.query_params.get("src") == "embed":
            # The widget's link (no JavaScript, or cookies blocked in the iframe): embed.js passes `url`/`ref`;
            # a plain click only has the Referer, which counts when it is one of EMBED_ORIGINS.
            query = request.query_params
            if query.get("url"):
                source = source_context(request, query.get("url"), query.get("ref"))
            else:
                embedders = [o for o in (origin_of(x) for x in sohbet(request).settings.embed_origins) if o]
                source = source_context(request, request.headers.get("referer"), None, allowed=embedders)
        response = page(
            request,
            "visitor/index.html",
            support_online=await sohbet(request).presence.is_online(ADMIN),
            retention_notice=retention_notice(request),
            **source,
        )
        if request.cookies.get(VISITOR_COOKIE):
            response.cookies.append(expired_cookie(sohbet(request).settings, VISITOR_COOKIE))
        return response
    return page(request, "visitor/index.html", **await chat_context(request, conversation))


@post("/chat/start", include_in_schema=False, status_code=303)
async def start_chat(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any] | Template:
    app = sohbet(request)
    lang = language(request)
    existing = await visitor_conversation(request)
    if existing is not None:  # a second tab or a double click: keep the one conversation
        return (
            see_other(home_url(request))
            if not is_htmx(request)
            else page(request, "visitor/_chat.html", **await chat_context(request, existing))
        )
    source = source_context(request, data.get("source_url"), data.get("source_referrer"))
    try:
        name = clean_display_name(data.get("display_name"))
    except TextError as error:
        return page(
            request,
            "visitor/index.html" if not is_htmx(request) else "visitor/_start.html",
            status_code=422,
            error=translator(lang)(f"error.{error.code}"),
            name_value=(data.get("display_name") or "")[:200],
            support_online=await app.presence.is_online(ADMIN),
            **source,
        )
    conversation, token = await app.conversations.start(
        name or translator(lang)("visitor.default_name"), lang, **source
    )
    visitor_cookie = cookie(app.settings, VISITOR_COOKIE, app.visitor_signer.sign(token), max_age=VISITOR_COOKIE_AGE)
    if is_htmx(request):
        response = page(request, "visitor/_chat.html", **await chat_context(request, conversation))
        response.cookies.append(visitor_cookie)
        return response
    return see_other(home_url(request), cookies=[visitor_cookie])


@post("/chat/messages", include_in_schema=False, status_code=303, opt={BODY_LIMIT: UPLOAD})
async def send_message(request: Request[Any, Any, Any]) -> Response[Any] | Template:
    """Text and/or a file (multipart). The form is read by submit_composer(), after the rate limit."""
    app = sohbet(request)
    token = app.visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
    conversation_id = await app.conversations.id_for_visitor_token(token) if token else None
    if conversation_id is None:
        if is_htmx(request):
            t = translator(language(request))
            return page(request, "shared/_error.html", status_code=409, message=t("error.no_conversation"))
        return see_other(home_url(request))

    async def full_context() -> dict[str, Any]:  # only to show the whole page again with an error (no JS)
        conversation = await app.conversations.get(conversation_id)
        assert conversation is not None
        return await chat_context(request, conversation)

    refusal = await submit_composer(request, conversation_id, "visitor", f"visitor:{conversation_id}")
    return await respond(
        request,
        refusal,
        post_url="/chat/messages" + ("?embed=1" if in_embed(request) else ""),
        done_url=home_url(request),
        full_page="visitor/index.html",
        full_context=full_context,
    )


@post("/chat/end", include_in_schema=False, status_code=303)
async def end_chat(request: Request[Any, Any, Any]) -> Response[Any]:
    app = sohbet(request)
    token = app.visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
    conversation_id = await app.conversations.id_for_visitor_token(token) if token else None
    if conversation_id is not None:
        # Revokes this cookie's token. System messages store an i18n key; each viewer reads it in their language.
        await app.conversations.leave(conversation_id, "chat.ended_note")
    return see_other(home_url(request), cookies=[expired_cookie(app.settings, VISITOR_COOKIE)])


@get("/lang/{code:str}", include_in_schema=False)
async def switch_language(
    request: Request[Any, Any, Any],
    code: FromPath[str],
    next_path: Annotated[str, QueryParameter(query="next")] = "/",
) -> Response[Any]:
    safe = next_path.startswith("/") and not next_path.startswith("//") and "\\" not in next_path
    target = next_path if safe else "/"
    response = see_other(target)
    if code in LANGUAGES:
        response.cookies.append(cookie(sohbet(request).settings, LANG_COOKIE, code, max_age=365 * 86400))
    return response


ROUTES = [index, start_chat, send_message, end_chat, switch_language]
