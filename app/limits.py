"""Request body limits, enforced before anything parses a body (issue 11, defect 1).

Litestar's CSRF layer reads every urlencoded or multipart form to find its token, on the event loop: one 11 MB
form of `a=1` fields froze every request for seconds. So, before any parsing, per request:

- a body larger than its route allows is refused with 413 (the announced Content-Length at once, a chunked or
  lying body as soon as the bytes received pass the limit). Routes allow `BODY_MAX` (64 KB) unless their handler
  says otherwise with `opt={BODY_LIMIT: ...}`: `UPLOAD` (a multipart file upload: the configured upload size),
  or a number of bytes (the Telegram webhook);
- an urlencoded form never gets more than `BODY_MAX` bytes nor more than `FORM_FIELDS_MAX` fields, whatever the
  route (an upload route takes its file as multipart; `multipart_form_part_limit` caps multipart parts).

The 413 is raised as an HTTPException, so `error_response` renders it as the client expects (page or JSON).
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

BODY_MAX = 64 * 1024
FORM_FIELDS_MAX = 256
MULTIPART_PARTS_MAX = 32
BODY_LIMIT = "body_limit"  # a route handler's opt key
UPLOAD = "upload"
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(HTTPException):
    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE
    detail = "request body too large"


def route_limit(scope: Scope, upload_max: int) -> int:
    handler = scope.get("route_handler")
    wanted = (handler.opt.get(BODY_LIMIT) if handler is not None else None) or BODY_MAX
    return upload_max if wanted == UPLOAD else int(wanted)


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


class BodyLimitMiddleware:
    """Pure ASGI: checks Content-Length, then counts the bytes (and urlencoded fields) as they arrive."""

    def __init__(self, app: ASGIApp, upload_max: int) -> None:
        self.app = app
        self.upload_max = upload_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") in BODYLESS:
            await self.app(scope, receive, send)
            return
        is_form = header(scope, b"content-type").split(";", 1)[0].strip().lower() == (
            "application/x-www-form-urlencoded"
        )
        limit = BODY_MAX if is_form else route_limit(scope, self.upload_max)
        announced = header(scope, b"content-length")
        if announced.isdigit() and int(announced) > limit:
            raise BodyTooLarge()
        received = 0
        fields = 1

        async def counted() -> ReceiveMessage:
            nonlocal received, fields
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > limit:
                    raise BodyTooLarge()
                if is_form:
                    fields += body.count(b"&")
                    if fields > FORM_FIELDS_MAX:
                        raise BodyTooLarge("too many form fields")
            return message

        await self.app(scope, counted, send)
