"""Visitor pages: the start form, the conversation, sending, ending. Plain posts + 303 without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template

from app.i18n import LANGUAGES, translator
from app.routes.composer import respond, submit
from app.services.conversations import ThreadView
from app.services.presence import ADMIN
from app.services.retention import describe
from app.services.text import TextError, clean_display_name
from app.web import (
    LANG_COOKIE,
    VISITOR_COOKIE,
    cookie,
    expired_cookie,
    is_htmx,
    language,
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
        "post_url": "/chat/messages",
        "retention_notice": retention_notice(request),
    }


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
        response = page(
            request,
            "visitor/index.html",
            support_online=await sohbet(request).presence.is_online(ADMIN),
            retention_notice=retention_notice(request),
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
            see_other("/")
            if not is_htmx(request)
            else page(request, "visitor/_chat.html", **await chat_context(request, existing))
        )
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
        )
    conversation, token = await app.conversations.start(name or translator(lang)("visitor.default_name"), lang)
    visitor_cookie = cookie(app.settings, VISITOR_COOKIE, app.visitor_signer.sign(token), max_age=VISITOR_COOKIE_AGE)
    if is_htmx(request):
        response = page(request, "visitor/_chat.html", **await chat_context(request, conversation))
        response.cookies.append(visitor_cookie)
        return response
    return see_other("/", cookies=[visitor_cookie])


@post("/chat/messages", include_in_schema=False, status_code=303)
async def send_message(request: Request[Any, Any, Any]) -> Response[Any] | Template:
    """Text and/or a file (multipart). The form is read by composer.submit(), after the rate limit."""
    conversation = await visitor_conversation(request)
    if conversation is None:
        if is_htmx(request):
            t = translator(language(request))
            return page(request, "shared/_error.html", status_code=409, message=t("error.no_conversation"))
        return see_other("/")
    refusal = await submit(request, conversation.id, "visitor", limiter_key=f"visitor:{conversation.id}")
    return await respond(
        request,
        refusal,
        post_url="/chat/messages",
        done_url="/",
        full_page="visitor/index.html",
        full_context=lambda: chat_context(request, conversation),
    )


@post("/chat/end", include_in_schema=False, status_code=303)
async def end_chat(request: Request[Any, Any, Any]) -> Response[Any]:
    app = sohbet(request)
    conversation = await visitor_conversation(request)
    if conversation is not None:
        # System messages store an i18n key; each viewer reads it in their own language.
        await app.conversations.end(conversation.id, "chat.ended_note")
    return see_other("/", cookies=[expired_cookie(app.settings, VISITOR_COOKIE)])


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
