"""Visitor pages: the start form, the conversation, sending, leaving an email, ending. Plain posts + 303
without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from app.i18n import LANGUAGES, translator
from app.limits import BODY_LIMIT, UPLOAD
from app.routes._common import (
    refused_redirect,
    respond,
    source_context,
    submit_composer,
    transcript_base_url,
    transcript_format,
    transcript_response,
    visitor_conversation,
    visitor_page_response,
    visitor_token,
)
from app.services import leave
from app.services.conversations import ThreadView
from app.services.ending import TRANSCRIPT_LIMIT, end_visitor_chat
from app.services.streams import display_name
from app.services.text import TextError
from app.services.visitor_page import VISITOR_COOKIE_AGE
from app.web import (
    EMBED_PATH,
    LANG_COOKIE,
    VISITOR_COOKIE,
    client_ip,
    cookie,
    expired_cookie,
    in_embed,
    is_htmx,
    language,
    origin_of,
    page,
    see_other,
    services_of,
)


async def chat_context(request: Request[Any, Any, Any], conversation: ThreadView) -> dict[str, Any]:
    """The conversation part of the visitor page (visitor/_chat.html)."""
    return await services_of(request).visitor_pages.chat(conversation, language(request), embed=in_embed(request))


def home_url(request: Request[Any, Any, Any]) -> str:
    """Where the visitor's conversation lives: the page, or the widget's compact page inside the iframe."""
    return EMBED_PATH if in_embed(request) else "/"


def link_source(request: Request[Any, Any, Any]) -> dict[str, str | None]:
    """The widget's link (no JavaScript, or cookies blocked in the iframe): embed.js passes `url`/`ref`; a plain
    click only has the Referer, which counts when it is one of the embedding sites."""
    query = request.query_params
    if query.get("src") != "embed":
        return {}
    if query.get("url"):
        return source_context(request, query.get("url"), query.get("ref"))
    embedders = [o for o in (origin_of(x) for x in services_of(request).brand.current.embed_origins) if o]
    return source_context(request, request.headers.get("referer"), None, allowed=embedders)


@get("/", include_in_schema=False)
async def index(request: Request[Any, Any, Any]) -> Template:
    conversation = await visitor_conversation(request)
    source = link_source(request) if conversation is None else None
    return await visitor_page_response(request, conversation, source)


@post("/chat/start", include_in_schema=False, status_code=303)
async def start_chat(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any] | Template:
    services = services_of(request)
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
        conversation, token = await services.visitor_pages.start(data, lang, ip=client_ip(request), **source)
    except TextError as error:
        return page(
            request,
            "visitor/index.html" if not is_htmx(request) else "visitor/_start.html",
            status_code=422,
            error=translator(lang)(f"error.{error.code}"),
            error_field=error.code.partition("_")[0],
            name_value=(data.get("display_name") or "")[:200],
            email_value=(data.get("email") or "")[:300],
            **await services.visitor_pages.start_form(lang, **source),
        )
    visitor_cookie = cookie(
        services.settings, VISITOR_COOKIE, services.visitor_signer.sign(token), max_age=VISITOR_COOKIE_AGE
    )
    if is_htmx(request):
        response = page(request, "visitor/_chat.html", **await chat_context(request, conversation))
        response.cookies.append(visitor_cookie)
        return response
    return see_other(home_url(request), cookies=[visitor_cookie])


@post("/chat/leave", include_in_schema=False, status_code=303)
async def leave_message(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    """The widget's "leave a message" form (HIDE_WHEN_AWAY): starts the conversation with the email and the message,
    then `303` to it. A wrong field: 422, the form again with everything typed kept."""
    services = services_of(request)
    lang = language(request)
    if await visitor_conversation(request) is not None:  # a second tab: keep the one conversation
        return see_other(home_url(request))
    source = source_context(request, data.get("source_url"), data.get("source_referrer"))
    try:
        _, token = await leave.leave_message(
            services.visitor_pages, services.messaging, data, lang, ip=client_ip(request), **source
        )
    except TextError as error:
        field = {"email": "email", "message": "text", "name": "display_name"}.get(error.code.partition("_")[0], "")
        kept = {f"{k}_value": (data.get(k) or "")[:4000] for k in ("email", "text")}
        return page(
            request,
            "visitor/index.html",
            status_code=422,
            error=translator(lang)(f"error.{error.code}"),
            error_field=field,
            name_value=(data.get("display_name") or "")[:200],
            leave_form=True,
            **kept,
            **await services.visitor_pages.start_form(lang, **source),
        )
    visitor_cookie = cookie(
        services.settings, VISITOR_COOKIE, services.visitor_signer.sign(token), max_age=VISITOR_COOKIE_AGE
    )
    return see_other(home_url(request), cookies=[visitor_cookie])


@post("/chat/messages", include_in_schema=False, status_code=303, opt={BODY_LIMIT: UPLOAD})
async def send_message(request: Request[Any, Any, Any]) -> Response[Any] | Template:
    """Text and/or a file (multipart). The form is read by submit_composer(), after the rate limit."""
    services = services_of(request)
    token = services.visitor_signer.unsign(request.cookies.get(VISITOR_COOKIE))
    conversation_id = await services.conversations.id_for_visitor_token(token) if token else None
    if conversation_id is None:
        if is_htmx(request):
            t = translator(language(request))
            return page(request, "shared/_error.html", status_code=409, message=t("error.no_conversation"))
        return see_other(home_url(request))

    async def full_context() -> dict[str, Any]:  # only to show the whole page again with an error (no JS)
        conversation = await services.conversations.get(conversation_id)
        assert conversation is not None
        return await chat_context(request, conversation)

    refusal = await submit_composer(request, conversation_id, "visitor", f"visitor:{conversation_id}")
    if refusal is not None and (back := refused_redirect(request, refusal, home_url(request))) is not None:
        return back
    return await respond(
        request,
        refusal,
        post_url="/chat/messages" + ("?embed=1" if in_embed(request) else ""),
        done_url=home_url(request),
        full_page="visitor/index.html",
        full_context=full_context,
    )


@get("/chat/email", include_in_schema=False)
async def email_form(request: Request[Any, Any, Any]) -> Response[Any] | Template:
    """The "get replies by email" form the conversation page's link opens: in place (htmx), or the page with it."""
    conversation = await visitor_conversation(request)
    if conversation is None:
        return see_other(home_url(request))
    if is_htmx(request):
        return page(request, "visitor/_email.html", email_form=True)
    return page(request, "visitor/index.html", email_form=True, **await chat_context(request, conversation))


@post("/chat/email", include_in_schema=False, status_code=303)
async def save_email(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any] | Template:
    """ "Get replies by email": the address is kept (encrypted) on the visitor's conversation. htmx gets the email
    box back; without JavaScript a 303 to the conversation. An invalid address: 422, the typed text kept."""
    services = services_of(request)
    conversation = await visitor_conversation(request)
    if conversation is None:
        return see_other(home_url(request))
    try:
        address = await services.visitor_pages.emails.save(conversation.id, data.get("email"))
    except TextError as error:
        refused = {"email_error": translator(language(request))(f"error.{error.code}")}
        refused["email_value"] = (data.get("email") or "")[:300]
        if is_htmx(request):
            return page(request, "visitor/_email.html", status_code=422, ask_email=True, **refused)
        context = await chat_context(request, conversation)
        return page(request, "visitor/index.html", status_code=422, **{**context, **refused})
    if is_htmx(request):
        return page(request, "visitor/_email.html", email_saved=address)
    return see_other(home_url(request))


@post("/chat/end", include_in_schema=False, status_code=303)
async def end_chat(request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any] | Template:
    """Ends only with `confirm=yes` (with JavaScript, a dialog asks and adds it); without it, a page asks first.
    The ended page, with the conversation read-only, is the answer itself: the cookie is dead afterwards."""
    services = services_of(request)
    partial = is_htmx(request)
    if data.get("confirm") != "yes" and await visitor_conversation(request) is not None:
        return page(request, "visitor/_end_ask.html" if partial else "visitor/end.html", path=home_url(request))
    ended = await end_visitor_chat(services.conversations, visitor_token(request))
    gone = expired_cookie(services.settings, VISITOR_COOKIE)
    if ended is None and not partial:
        return see_other(home_url(request), cookies=[gone])
    if ended is None:  # nothing left to end (ended in another tab, or deleted): the start form, as `/` shows it
        response = page(request, "visitor/_start.html", **await services.visitor_pages.start_form(language(request)))
    else:
        response = page(
            request,
            "visitor/_ended.html" if partial else "visitor/ended.html",
            transcript=ended.messages,
            transcript_complete=ended.complete,
            transcript_limit=TRANSCRIPT_LIMIT,
            display_name=display_name(ended.conversation, language(request)),
            transcript_token=services.transcripts.link_token(ended.conversation.id),  # the cookie is revoked
            transcript_mail=services.transcript_mail.available and bool(ended.conversation.email),
            mail_to=ended.conversation.email,
            path=home_url(request),  # the language link leads home, not to this POST-only address
        )
    response.cookies.append(gone)
    return response


@get("/chat/transcript", include_in_schema=False)
async def transcript(request: Request[Any, Any, Any], token: FromQuery[str | None] = None) -> Response[Any] | Template:
    """The visitor's conversation as text (a download) or `?format=html` (a printable page), by their cookie or,
    after the chat ended, by the ended page's signed `token` (one hour)."""
    rendered = services_of(request).transcripts.for_visitor(
        visitor_token(request),
        token,
        transcript_format(request),
        lang=language(request),
        base_url=transcript_base_url(request),
    )
    return await transcript_response(request, rendered)


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
        response.cookies.append(cookie(services_of(request).settings, LANG_COOKIE, code, max_age=365 * 86400))
    return response
