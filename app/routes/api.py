"""The JSON API of the old app (SPEC §2), for scripts and integrations. Admin session + x-csrftoken header.

Errors come from app.web.error_response as {success: false, error, code, status}.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, HeaderParameter, JSONBody, MultipartBody
from msgspec import Meta

from app.i18n import translator
from app.limits import BODY_LIMIT, UPLOAD
from app.routes._common import COMMON_ERRORS, errors
from app.services import login, notes
from app.services.conversations import MessageView, ThreadView
from app.services.idempotency import CLIENT_MSG_ID, valid_client_msg_id
from app.services.login import LoginRefused
from app.services.messaging import SendRefused, Staged
from app.services.status import ANY_STATUS, StatusRefused, ThreadFilter
from app.services.threads import THREADS_PAGE, threads_page
from app.web import (
    ADMIN_COOKIE,
    DB_INT_MAX,
    LOGIN_COOKIE,
    ApiError,
    OptionalQuerySeq,
    PathId,
    acting,
    admin_guard,
    client_ip,
    cookie,
    current_admin,
    language,
    services_of,
)

API_LOGIN_COOKIE_PATH = "/admin/verify-otp"
MAX_PAGE = 200


@dataclass
class LoginRequest:
    username: str
    password: str


@dataclass
class LoginResponse:
    success: bool
    otp_sent: bool


@dataclass
class VerifyRequest:
    otp: str


@dataclass
class SuccessResponse:
    success: bool


# Field names: first those of Flask Chat v2.3's API (SPEC §13, its clients read them), then Sohbet's own.


@dataclass
class ThreadOut:
    id: int
    created_at: datetime
    last_activity: datetime
    status: Literal["active", "ended"]
    message_count: int
    display_name: str
    last_activity_at: datetime  # = last_activity
    unread_count: int
    preview: str
    last_sender: str
    online: bool
    ended: bool
    # SPEC §8. `status` above keeps Flask Chat's meaning (active | ended, SPEC §13: its clients read it).
    conversation_status: Literal["open", "snoozed", "resolved"]
    snoozed_until: datetime | None
    assignee: str | None  # the agent's username
    labels: list[str]  # SPEC §10, alphabetically


@dataclass
class ThreadsResponse:
    success: bool
    threads: list[ThreadOut]
    has_more: bool
    next_before: str | None  # `before` of the next page


@dataclass
class MessageOut:
    id: int
    thread_id: int
    content_text: str
    content_type: Literal["text", "image", "audio"]
    sender_type: Literal["visitor", "admin", "system"]
    created_at: datetime
    seq: int
    file_url: str | None
    sender: Literal["visitor", "admin", "system"]  # = sender_type
    type: Literal["text", "image", "audio"]  # = content_type
    text: str  # = content_text
    author: str | None  # the agent's username on an agent's message; null: a visitor, the system, or "Support"
    author_name: str  # that agent's display name ("" for the others: shown as "Support" on admin messages)


@dataclass
class MessagesResponse:
    success: bool
    thread_id: int
    messages: list[MessageOut]
    has_more: bool
    next_before: int | None


ThreadId = Annotated[int, Meta(ge=1, le=DB_INT_MAX)]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        # Documented here, checked by the handler (for a clear error message).
        schema_extra={"min_length": 8, "max_length": 64, "pattern": f"^{CLIENT_MSG_ID.pattern}$"},
        description="Your id for this send (8-64 of A-Z a-z 0-9 _ -). A repeat with the same key for the same "
        "thread stores nothing new and answers as the first did.",
    ),
]


@dataclass
class SendRequest:
    thread_id: ThreadId
    text: str = ""
    type: Literal["text", "image", "audio"] = "text"
    file_url: str | None = None


@dataclass
class AgentOut:
    username: str
    display_name: str
    role: Literal["owner", "agent"]
    disabled: bool


@dataclass
class AgentsResponse:
    success: bool
    agents: list[AgentOut]


@dataclass
class SendResponse:
    success: bool
    message_id: int
    thread_id: int
    message: MessageOut


@dataclass
class ClearRequest:
    thread_id: ThreadId


@dataclass
class UploadForm:
    file: UploadFile


@dataclass
class UploadResponse:
    success: bool
    file_url: str


def refuse(status: int, message: str) -> ApiError:
    return ApiError(detail=message, status_code=status)


# The API's own words for a send it refuses (every other refusal: its `error.<code>` message from app.i18n).
SEND_MESSAGES = {
    "staged_required": "file_url from /api/upload/image or /api/upload/audio is required",
    "staged_unusable": "file_url is not an unused upload of that type",
}


def send_refusal(request: Request[Any, Any, Any], refused: SendRefused) -> ApiError:
    message = SEND_MESSAGES.get(refused.code) or translator(language(request))(f"error.{refused.code}")
    return refuse(refused.status, message)


def login_refusal(request: Request[Any, Any, Any], refused: LoginRefused) -> ApiError:
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after is not None else None
    message = translator(language(request))(refused.message_key)
    return ApiError(detail=message, status_code=refused.status, headers=headers)


def message_out(message: MessageView) -> MessageOut:
    attachment = message.attachment
    kind: Any = attachment.kind if attachment else "text"
    sender: Any = message.sender
    return MessageOut(
        id=message.id,
        thread_id=message.conversation_id,
        content_text=message.text,
        content_type=kind,
        sender_type=sender,
        created_at=message.created_at,
        seq=message.seq,
        file_url=f"/media/{attachment.public_id}" if attachment else None,
        sender=sender,
        type=kind,
        text=message.text,
        author=message.author,
        author_name=message.author_name,
    )


def thread_out(thread: ThreadView) -> ThreadOut:
    return ThreadOut(
        id=thread.id,
        created_at=thread.created_at or thread.last_activity_at,
        last_activity=thread.last_activity_at,
        status="ended" if thread.ended else "active",
        message_count=thread.message_count,
        display_name=thread.display_name,
        last_activity_at=thread.last_activity_at,
        unread_count=thread.unread_count,
        preview=thread.preview,
        last_sender=thread.last_sender,
        online=thread.online,
        ended=thread.ended,
        conversation_status=thread.status,  # type: ignore[arg-type]
        snoozed_until=thread.snoozed_until,
        assignee=thread.assignee,
        labels=list(thread.labels),
    )


@post("/admin/login", status_code=200, tags=["auth"], responses=errors(*COMMON_ERRORS, 503))
async def api_login(request: Request[Any, Any, Any], data: JSONBody[LoginRequest]) -> Response[LoginResponse]:
    """Check username and password; on success a one-time code is sent to the admin channel."""
    services = services_of(request)
    try:
        attempt = await login.start(services.auth, data.username, data.password, client_ip(request))
    except LoginRefused as refused:
        raise login_refusal(request, refused) from None
    return Response(
        LoginResponse(success=True, otp_sent=True),
        cookies=[
            cookie(
                services.settings,
                LOGIN_COOKIE,
                attempt,
                max_age=services.settings.login_code_seconds,
                path=API_LOGIN_COOKIE_PATH,
            )
        ],
    )


@post("/admin/verify-otp", status_code=200, tags=["auth"], responses=errors(*COMMON_ERRORS))
async def api_verify(request: Request[Any, Any, Any], data: JSONBody[VerifyRequest]) -> Response[SuccessResponse]:
    """Complete the login with the code; answers with the session cookie."""
    services = services_of(request)
    cookies = request.cookies
    try:
        token = await login.finish(
            services.auth, cookies.get(LOGIN_COOKIE), data.otp, client_ip(request), cookies.get(ADMIN_COOKIE)
        )
    except LoginRefused as refused:
        raise login_refusal(request, refused) from None
    return Response(
        SuccessResponse(success=True),
        cookies=[cookie(services.settings, ADMIN_COOKIE, token, max_age=services.settings.session_absolute_seconds)],
    )


@get("/api/threads", tags=["threads"], responses=errors(*COMMON_ERRORS, 422))
async def list_threads(
    request: Request[Any, Any, Any],
    before: FromQuery[str | None] = None,
    limit: FromQuery[int] = THREADS_PAGE,
    view: FromQuery[Literal["all", "mine", "unassigned"] | None] = None,
    status: FromQuery[Literal["open", "snoozed", "resolved"] | None] = None,
    label: FromQuery[str | None] = None,
) -> ThreadsResponse:
    """A page of conversations, newest activity first: the first `limit`, or those after the cursor `before`
    (the `next_before` of the previous page). `view` (all, mine, unassigned) and `status` (open, snoozed,
    resolved) filter them; without either, every conversation is listed. `label`: only those with that label
    (any status unless `status` is given); 422 when it cannot be a label."""
    if not 1 <= limit <= MAX_PAGE:
        raise refuse(400, f"limit must be between 1 and {MAX_PAGE}")
    services = services_of(request)
    outbox = services.telegram.outbox if services.telegram is not None else None
    chosen = None
    if view or status or label:
        try:
            chosen = ThreadFilter.parse(view, status, current_admin(request).username, label)
        except StatusRefused as refused:
            raise refuse(422, translator(language(request))(f"error.{refused.code}")) from None
        chosen = chosen if view or status else replace(chosen, status=ANY_STATUS)
    try:
        listed = await threads_page(
            services.conversations,
            services.presence,
            outbox,
            before,
            limit,
            lang=language(request),
            view=chosen,
            reader=current_admin(request).username,
        )
    except ValueError:
        raise refuse(400, "before must be the next_before of a previous page") from None
    return ThreadsResponse(
        success=True,
        threads=[thread_out(thread) for thread in listed.threads],
        has_more=listed.next_before is not None,
        next_before=listed.next_before,
    )


@get("/api/messages/{thread_id:int}", tags=["messages"], responses=errors(*COMMON_ERRORS, 404))
async def list_messages(
    request: Request[Any, Any, Any],
    thread_id: PathId,
    before: OptionalQuerySeq = None,
    limit: FromQuery[int] = 50,
) -> MessagesResponse:
    """A page of messages, oldest first: the newest `limit`, or those before sequence number `before`."""
    services = services_of(request)
    if await services.conversations.get(thread_id) is None:
        raise NotFoundException("no such conversation")
    if not 1 <= limit <= MAX_PAGE:
        raise refuse(400, f"limit must be between 1 and {MAX_PAGE}")
    found, has_more = await services.conversations.page(thread_id, before, limit=limit)
    messages = notes.for_visitor(found)  # sender_type has three values (SPEC §8): agents' notes stay out
    return MessagesResponse(
        success=True,
        thread_id=thread_id,
        messages=[message_out(m) for m in messages],
        has_more=has_more,
        next_before=found[0].seq if has_more and found else None,
    )


@post("/api/messages/send", status_code=201, tags=["messages"], responses=errors(*COMMON_ERRORS, 404, 413, 422))
async def send_message(
    request: Request[Any, Any, Any], data: JSONBody[SendRequest], idempotency_key: IdempotencyKey = None
) -> SendResponse:
    """Reply as the admin: text, or an image/audio uploaded first through /api/upload/*. Idempotent with an
    `Idempotency-Key` header: a retry after a lost answer never stores the message twice."""
    services = services_of(request)
    if idempotency_key is not None and not valid_client_msg_id(idempotency_key):
        raise refuse(400, "Idempotency-Key must be 8 to 64 characters of A-Z, a-z, 0-9, _ and -")
    if await services.conversations.get(data.thread_id) is None:
        raise NotFoundException("no such conversation")
    file_url = data.file_url or ""
    staged = Staged(file_url.removeprefix("/media/") if file_url.startswith("/media/") else None, data.type)
    try:
        message = await services.messaging.send(
            data.thread_id,
            "admin",
            data.text,
            staged=staged if data.type != "text" else None,
            client_msg_id=idempotency_key,
            author=current_admin(request).username,
        )
    except SendRefused as refused:
        raise send_refusal(request, refused) from None
    return SendResponse(
        success=True, message_id=message.id, thread_id=message.conversation_id, message=message_out(message)
    )


@post("/api/messages/clear", status_code=200, tags=["messages"], responses=errors(*COMMON_ERRORS, 404))
async def clear_messages(request: Request[Any, Any, Any], data: JSONBody[ClearRequest]) -> SuccessResponse:
    """Delete one conversation's messages (and their files)."""
    services = services_of(request)
    if await services.conversations.get(data.thread_id) is None:
        raise NotFoundException("no such conversation")
    await services.conversations.clear(data.thread_id, **acting(request))
    return SuccessResponse(success=True)


@get("/api/agents", tags=["team"], responses=errors(*COMMON_ERRORS))
async def list_agents(request: Request[Any, Any, Any]) -> AgentsResponse:
    """The team: every agent's username, display name, role and whether they are disabled."""
    members = await services_of(request).agents.members()
    agents = [AgentOut(a.username, a.display_name, a.role, a.disabled) for a in members]  # type: ignore[arg-type]
    return AgentsResponse(success=True, agents=agents)


async def _upload(request: Request[Any, Any, Any], upload: UploadFile, kind: str) -> UploadResponse:
    limiter_key = f"admin:{current_admin(request).username}"
    try:
        view = await services_of(request).messaging.stage(upload, kind, limiter_key=limiter_key)
    except SendRefused as refused:
        raise send_refusal(request, refused) from None
    return UploadResponse(success=True, file_url=f"/media/{view.public_id}")


@post(
    "/api/upload/image",
    status_code=201,
    tags=["uploads"],
    responses=errors(*COMMON_ERRORS, 413, 415, 422, 503),
    opt={BODY_LIMIT: UPLOAD},
)
async def upload_image(request: Request[Any, Any, Any], data: MultipartBody[UploadForm]) -> UploadResponse:
    """Upload an image (JPEG, PNG, GIF, WebP; re-encoded without metadata) for /api/messages/send."""
    return await _upload(request, data.file, "image")


@post(
    "/api/upload/audio",
    status_code=201,
    tags=["uploads"],
    responses=errors(*COMMON_ERRORS, 413, 415, 422, 503),
    opt={BODY_LIMIT: UPLOAD},
)
async def upload_audio(request: Request[Any, Any, Any], data: MultipartBody[UploadForm]) -> UploadResponse:
    """Upload audio (MP3, WAV, OGG/Opus, WebM, M4A) for /api/messages/send."""
    return await _upload(request, data.file, "audio")


LOGIN_ROUTES = [api_login, api_verify]


def make_router(middleware: list[Any]) -> Router:
    return Router(
        path="/",
        route_handlers=[
            list_threads,
            list_messages,
            send_message,
            clear_messages,
            upload_image,
            upload_audio,
            list_agents,
        ],
        guards=[admin_guard],
        middleware=middleware,
    )
