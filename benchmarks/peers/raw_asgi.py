"""The raw-ASGI floor: the least a Python server can do for this chat on uvicorn.

No framework, no database, no encryption, no templates: `POST /start` makes a conversation, `POST /send` appends
a message to a dict and pushes it to the conversation's visitor streams and to every admin stream.
`GET /events?c=ID` (the visitor) and `GET /admin/events?thread=ID` (an admin with that conversation open: it replays
that conversation from `Last-Event-ID` or `after=`, then gets every new message of every conversation) are SSE
streams. One watcher task per stream notices the client going away.

Run: `uvicorn benchmarks.peers.raw_asgi:app --host 127.0.0.1 --port PORT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from urllib.parse import parse_qs

PING_SECONDS = 15.0
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]

messages: dict[int, list[bytes]] = {}  # conversation -> encoded SSE events, index = seq - 1
streams: dict[int, set[asyncio.Queue[bytes | None]]] = {}  # conversation -> its visitor streams
admins: set[asyncio.Queue[bytes | None]] = set()  # every admin stream sees every conversation


async def respond(send, status: int, body: bytes = b"", content_type: bytes = b"text/plain") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def sse_event(seq: int, text: str) -> bytes:
    data = f'<article class="msg" data-seq="{seq}"><div class="msg-text">{html.escape(text)}</div></article>'
    return f"event: message\r\nid: {seq}\r\ndata: {data}\r\n\r\n".encode()


async def stream(scope, receive, send, conversation: int, admin: bool) -> None:
    if conversation not in messages:
        await respond(send, 204)
        return
    query = parse_qs(scope["query_string"].decode())
    cursor = int(query.get("after", ["0"])[0] or 0)
    for name, value in scope["headers"]:
        if name == b"last-event-id" and value.isdigit():
            cursor = max(cursor, int(value))
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    followers = admins if admin else streams.setdefault(conversation, set())
    followers.add(queue)  # subscribe before replaying: nothing appended meanwhile is missed

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        queue.put_nowait(None)

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        backlog = messages[conversation][cursor:]
        cursor += len(backlog)
        await send(
            {
                "type": "http.response.body",
                "body": b"event: ready\r\ndata: 1\r\n\r\n" + b"".join(backlog),
                "more_body": True,
            }
        )
        while True:
            try:
                chunk = await asyncio.wait_for(queue.get(), PING_SECONDS)
            except TimeoutError:
                chunk = b": ping\r\n\r\n"
            if chunk is None:
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except OSError:
        return
    finally:
        followers.discard(queue)
        watcher.cancel()
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b""})


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path, method = scope["path"], scope["method"]
    if method == "POST" and path == "/send":
        form = parse_qs((await read_body(receive)).decode())
        conversation = int(form["c"][0])
        log = messages.get(conversation)
        if log is None:
            await respond(send, 404)
            return
        event = sse_event(len(log) + 1, form.get("text", [""])[0])
        log.append(event)
        for queue in streams.get(conversation, ()):
            queue.put_nowait(event)
        for queue in admins:
            queue.put_nowait(event)
        await respond(send, 200, b"ok")
    elif method == "POST" and path == "/start":
        await read_body(receive)
        conversation = len(messages) + 1
        messages[conversation] = []
        await respond(send, 200, json.dumps({"id": conversation}).encode(), b"application/json")
    elif method == "GET" and path in {"/events", "/admin/events"}:
        query = parse_qs(scope["query_string"].decode())
        key = "c" if path == "/events" else "thread"
        await stream(scope, receive, send, int(query.get(key, ["0"])[0]), admin=path != "/events")
    elif method == "GET" and path == "/health":
        await respond(send, 200, b"ok")
    else:
        await respond(send, 404)
