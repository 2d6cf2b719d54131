"""The visitor's transcript by email (SPEC §9): POST /chat/transcript/email queues it to the address on file (by the
visitor's cookie, or the ended page's signed `token`); GET shows the form, or "sent" after the plain form's 303.
htmx gets the box back, JSON clients a JSON answer, a plain form the page; a refusal says why, with its status."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.i18n import translator
from app.routes._common import transcript_base_url, visitor_token
from app.services.transcript_mail import TranscriptMailRefused
from app.web import in_embed, is_htmx, language, page, see_other, services_of, wants_json


def _answer(request: Request[Any, Any, Any], status: int = 200, **context: Any) -> Template:
    template = "visitor/_transcript_mail.html" if is_htmx(request) else "visitor/transcript_mail.html"
    return page(request, template, status_code=status, **context)


def _refused(request: Request[Any, Any, Any], refused: TranscriptMailRefused, token: str) -> Response[Any] | Template:
    message = translator(language(request))(f"error.{refused.code}")
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
    if wants_json(request):
        body = {"success": False, "error": message, "code": refused.code, "status": refused.status}
        return Response(body, status_code=refused.status, headers=headers, media_type="application/json")
    answer = _answer(request, refused.status, mail_error=message, mail_error_code=refused.code, transcript_token=token)
    answer.headers.update(headers)
    return answer


@get("/chat/transcript/email", include_in_schema=False)
async def transcript_email_page(request: Request[Any, Any, Any]) -> Template:
    """The form (the ended page's `token` kept in it), or `?sent=1`: the answer to a plain form's post."""
    query = request.query_params
    return _answer(request, mail_sent=query.get("sent") == "1", transcript_token=query.get("token") or "")


@post("/chat/transcript/email", include_in_schema=False, status_code=303)
async def send_transcript_email(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[Any] | Template:
    token = (data.get("token") or "")[:500]
    try:
        await services_of(request).transcript_mail.send(
            visitor_token(request), token or None, lang=language(request), base_url=transcript_base_url(request)
        )
    except TranscriptMailRefused as refused:
        return _refused(request, refused, token)
    if wants_json(request):
        return Response({"success": True}, status_code=202, media_type="application/json")
    if is_htmx(request):
        return _answer(request, mail_sent=True)
    return see_other("/chat/transcript/email?sent=1" + ("&embed=1" if in_embed(request) else ""))


ROUTES = [transcript_email_page, send_transcript_email]
