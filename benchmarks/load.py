"""The load generator: its own process (pinned to another core than the server), one job per run.

`python -m benchmarks.load` reads a job (JSON) on stdin and prints its result (JSON) on stdout; progress goes to
stderr. Every connection is a raw asyncio socket: POSTs on keep-alive HTTP/1.1 connections, each SSE stream (or
Engine.IO WebSocket, for the old stack) one `asyncio.Protocol` object parsing bytes as they come — no thread and
no task per stream — so one core can hold thousands of streams and time every event.

Jobs: `visitors` (idle memory per stream, then the reconnect storm), `throughput` (step the offered message rate
until p99 > limit), `latency` (a fixed rate with many idle visitors connected). Each is bounded in time and size.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import contextlib
import gc
import json
import os
import re
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from benchmarks.common import (
    LOAD_CPU,
    cpu_seconds,
    open_fds,
    percentile,
    pin_self,
    raise_fd_limit,
    require_loopback,
    rss_bytes,
)

TOKEN_RE = re.compile(r"bm(\d+)x")
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
THREAD_RE = re.compile(r'<li id="thread-(\d+)".*?<span class="name">(.*?)</span>', re.S)
CONNECT_CONCURRENCY = 512  # connection attempts in flight at once (a storm is spread over this many)
now = time.perf_counter


def say(*parts: object) -> None:
    print("[load]", *parts, file=sys.stderr, flush=True)


# -- HTTP/1.1 requests -----------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def set_cookies(self) -> dict[str, str]:
        cookies = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                cookies[name.strip()] = val.strip()
        return cookies


class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = require_loopback(host), port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        response_headers = []
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            response_headers.append((key.strip().lower(), value.strip()))
        response = Response(status, response_headers, b"")
        length = response.header("content-length")
        if response.header("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            response.body = b"".join(parts)
        elif length is not None:
            response.body = await self.reader.readexactly(int(length))
        if (response.header("connection") or "").lower() == "close":
            self.close()
        return response

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Pool:
    """Keep-alive connections, opened on demand (an open-loop sender never waits for a free one)."""

    def __init__(self, host: str, port: int, limit: int = 256) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(limit)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Response:
        async with self.slots:
            reused = bool(self.idle)
            connection = self.idle.pop() if reused else Connection(self.host, self.port)
            try:
                response = await connection.request(method, path, headers, body)
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                connection.close()
                if not reused or (isinstance(error, asyncio.IncompleteReadError) and error.partial):
                    raise
                # The server closed an idle keep-alive connection: once more on a new one.
                connection = Connection(self.host, self.port)
                try:
                    response = await connection.request(method, path, headers, body)
                except BaseException:
                    connection.close()
                    raise
            except BaseException:
                connection.close()
                raise
            if connection.writer is not None:
                self.idle.append(connection)
            return response

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# -- streams ---------------------------------------------------------------------------------------------------

EventHandler = Callable[["Stream", str, str | None, str, float], None]


class Stream(asyncio.Protocol):
    """One SSE stream over HTTP/1.1 (chunked body), parsed incrementally. `ready` resolves at its first event."""

    def __init__(self, request: bytes, on_event: EventHandler, owner: Any = None) -> None:
        self.request = request
        self.on_event = on_event
        self.owner = owner
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[int] = loop.create_future()
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # a failure may go unawaited
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.status = 0
        self._head = b""
        self._chunked = False
        self._raw = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._event, self._id, self._data = "message", None, []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        at = now()
        if not self.status:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self._head[:end].decode("latin-1").lower(), self._head[end + 4 :]
            self.status = int(head.split(None, 2)[1])
            self._chunked = "transfer-encoding: chunked" in head
            if self.status != 200:
                self._fail(self.status)
                return
        if not self._chunked:
            self._feed(self._decoder.decode(data), at)
            return
        raw = self._raw + data
        position = 0
        while True:
            line_end = raw.find(b"\r\n", position)
            if line_end < 0:
                break
            size = int(raw[position:line_end].split(b";")[0], 16)
            if size == 0:
                position = len(raw)
                break
            start, stop = line_end + 2, line_end + 2 + size
            if len(raw) < stop + 2:
                break
            self._feed(self._decoder.decode(raw[start:stop]), at)
            position = stop + 2
        self._raw = raw[position:]

    def _feed(self, text: str, at: float) -> None:
        lines = (self._text + text).split("\n")
        self._text = lines.pop()
        for line in lines:
            line = line.removesuffix("\r")
            if not line:
                if self._data:
                    event, event_id, data = self._event, self._id, "\n".join(self._data)
                    self._event, self._id, self._data = "message", None, []
                    if not self.ready.done():
                        self.ready.set_result(self.status)
                    self.on_event(self, event, event_id, data, at)
                else:
                    self._event, self._id = "message", None
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "data":
                self._data.append(value)
            elif key == "event":
                self._event = value
            elif key == "id":
                self._id = value

    def _fail(self, status: int) -> None:
        if not self.ready.done():
            self.ready.set_result(status)
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"stream closed before its first event ({exc})"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class EngineIOStream(Stream):
    """One Socket.IO client over the Engine.IO 4 WebSocket transport (the old stack's browser connection).
    Messages are `42["message", {"id": seq, "html": ...}]`; `ready` resolves when the namespace is joined."""

    def data_received(self, data: bytes) -> None:
        at = now()
        if not self.status:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self._head[:end].decode("latin-1"), self._head[end + 4 :]
            self.status = int(head.split(None, 2)[1])
            if self.status != 101:
                self._fail(self.status)
                return
        raw = self._raw + data
        while len(raw) >= 2:
            first, second = raw[0], raw[1] & 0x7F
            offset = 2
            if second == 126:
                if len(raw) < 4:
                    break
                second, offset = struct.unpack(">H", raw[2:4])[0], 4
            elif second == 127:
                if len(raw) < 10:
                    break
                second, offset = struct.unpack(">Q", raw[2:10])[0], 10
            if len(raw) < offset + second:
                break
            payload, raw = raw[offset : offset + second], raw[offset + second :]
            opcode = first & 0x0F
            if opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self.close()
                return
            elif opcode in (0x0, 0x1):
                self._text += payload.decode()
                if first & 0x80:
                    message, self._text = self._text, ""
                    self._message(message, at)
        self._raw = raw

    def _message(self, message: str, at: float) -> None:
        if message.startswith("0"):
            self._send_frame(0x1, b"40")  # join the default namespace
        elif message == "2":
            self._send_frame(0x1, b"3")  # pong
        elif message.startswith("40"):
            if not self.ready.done():
                self.ready.set_result(200)
        elif message.startswith("42"):
            name, payload = json.loads(message[2:])[:2]
            self.on_event(self, name, str(payload.get("id")), payload.get("html", ""), at)

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            head = struct.pack(">BB", 0x80 | opcode, 0x80 | length)
        else:
            head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(head + mask + masked)


async def open_stream(host: str, port: int, stream: Stream, attempts: int = 20) -> Stream:
    """Connect (retrying refused/reset connections like a browser would) and wait for the stream's first event."""
    loop = asyncio.get_running_loop()
    for attempt in range(attempts):
        try:
            await loop.create_connection(lambda s=stream: s, require_loopback(host), port)
            status = await asyncio.wait_for(asyncio.shield(stream.ready), 30)
        except (ConnectionError, OSError, TimeoutError):
            if attempt == attempts - 1:
                raise
            stream.close()
            stream = type(stream)(stream.request, stream.on_event, stream.owner)
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        if status not in (200, 101):
            raise ConnectionError(f"stream answered {status}")
        return stream
    raise AssertionError("unreachable")


async def bounded(jobs: Iterable[Awaitable[Any]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


# -- targets: the same chat job on Sohbet, the raw-ASGI floor and the old stack --------------------------------


@dataclass
class Visitor:
    index: int
    conversation: int = 0  # known for the floor and the old stack; for Sohbet only where an admin follows it
    cookie: str = ""  # Sohbet: the visitor's cookies
    last_id: int = 0
    stream: Stream | None = None
    ids: list[int] = field(default_factory=list)
    caught_up_at: float = 0.0


class Target:
    kind = ""
    stream_class: type[Stream] = Stream

    def __init__(self, host: str, port: int, spec: dict[str, Any]) -> None:
        self.host, self.port, self.spec = require_loopback(host), port, spec
        self.pool = Pool(host, port)

    async def prepare(self) -> None:
        return None

    async def create(self, visitor: Visitor) -> None:
        raise NotImplementedError

    async def post(self, visitor: Visitor, text: str) -> int:
        raise NotImplementedError

    def visitor_request(self, visitor: Visitor, last_id: int) -> bytes:
        raise NotImplementedError

    def admin_request(self, conversation: int) -> bytes:
        raise NotImplementedError

    async def resolve_conversations(self, visitors: list[Visitor]) -> None:
        return None

    def get(self, path: str, headers: dict[str, str]) -> bytes:
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


class SohbetTarget(Target):
    kind = "sohbet"

    async def prepare(self) -> None:
        page = await self.pool.request("GET", "/", {"Accept": "text/html"})
        match = CSRF_RE.search(page.body.decode())
        assert page.status == 200 and match, f"GET / answered {page.status}"
        self.csrf = match.group(1)
        self.csrf_cookie = f"csrftoken={page.set_cookies()['csrftoken']}"
        admin = self.spec.get("admin_cookies") or {}
        self.admin_cookie = "; ".join(f"{k}={v}" for k, v in admin.items())

    async def create(self, visitor: Visitor) -> None:
        body = form({"display_name": f"bench-{visitor.index}", "_csrf_token": self.csrf})
        response = await self.pool.request("POST", "/chat/start", {**FORM, "Cookie": self.csrf_cookie}, body)
        assert response.status == 303, f"/chat/start answered {response.status}"
        visitor.cookie = f"{self.csrf_cookie}; sohbet_visitor={response.set_cookies()['sohbet_visitor']}"

    async def post(self, visitor: Visitor, text: str) -> int:
        headers = {**FORM, "Cookie": visitor.cookie, "HX-Request": "true"}
        body = form({"text": text, "_csrf_token": self.csrf})
        return (await self.pool.request("POST", "/chat/messages", headers, body)).status

    def visitor_request(self, visitor: Visitor, last_id: int) -> bytes:
        headers = {"Cookie": visitor.cookie}
        if last_id:
            headers["Last-Event-ID"] = str(last_id)
        return self.get("/chat/events", headers)

    def admin_request(self, conversation: int) -> bytes:
        return self.get(f"/admin/events?thread={conversation}", {"Cookie": self.admin_cookie})

    async def resolve_conversations(self, visitors: list[Visitor]) -> None:
        """Conversation ids come from the admin's thread list (the newest 200), matched by display name."""
        page = await self.pool.request("GET", "/admin/threads", {"Cookie": self.admin_cookie})
        assert page.status == 200, f"/admin/threads answered {page.status}"
        ids = {name: int(number) for number, name in THREAD_RE.findall(page.body.decode())}
        for visitor in visitors:
            visitor.conversation = ids[f"bench-{visitor.index}"]


class FloorTarget(Target):
    kind = "floor"

    async def create(self, visitor: Visitor) -> None:
        response = await self.pool.request("POST", "/start", {})
        visitor.conversation = json.loads(response.body)["id"]

    async def post(self, visitor: Visitor, text: str) -> int:
        body = form({"c": str(visitor.conversation), "text": text})
        return (await self.pool.request("POST", "/send", FORM, body)).status

    def visitor_request(self, visitor: Visitor, last_id: int) -> bytes:
        headers = {"Last-Event-ID": str(last_id)} if last_id else {}
        return self.get(f"/events?c={visitor.conversation}", headers)

    def admin_request(self, conversation: int) -> bytes:
        return self.get(f"/admin/events?thread={conversation}", {})


class PeerTarget(FloorTarget):
    kind = "peer"
    stream_class = EngineIOStream

    def _socket(self, query: str) -> bytes:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET /socket.io/?EIO=4&transport=websocket&{query} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def visitor_request(self, visitor: Visitor, last_id: int) -> bytes:
        return self._socket(f"c={visitor.conversation}&last={last_id}")

    def admin_request(self, conversation: int) -> bytes:
        return self._socket(f"c={conversation}&role=admin")


TARGETS = {"sohbet": SohbetTarget, "floor": FloorTarget, "peer": PeerTarget}


# -- jobs ------------------------------------------------------------------------------------------------------


class Job:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.pid = int(spec["server_pid"])
        self.target: Target = TARGETS[spec["target"]](spec.get("host", "127.0.0.1"), int(spec["port"]), spec)
        self.visitors: list[Visitor] = []

    def rss(self, samples: int = 3) -> int:
        values = []
        for _ in range(samples):
            values.append(rss_bytes(self.pid))
            time.sleep(0.1)
        return sorted(values)[len(values) // 2]

    async def create_visitors(self, count: int, concurrency: int = 16) -> list[Visitor]:
        start = len(self.visitors)
        made = [Visitor(start + i) for i in range(count)]
        await bounded((self.target.create(v) for v in made), concurrency)
        self.visitors += made
        return made

    def visitor_stream(self, visitor: Visitor, on_event: EventHandler, last_id: int = 0) -> Stream:
        return self.target.stream_class(self.target.visitor_request(visitor, last_id), on_event, visitor)

    async def open(self, streams: list[Stream]) -> list[Stream]:
        host, port = self.target.host, self.target.port
        return await bounded((open_stream(host, port, s) for s in streams), CONNECT_CONCURRENCY)

    async def settle_fds(self, baseline: int, within: float = 20) -> None:
        """Wait until the server has closed the streams we dropped (its open files are back near `baseline`)."""
        deadline = now() + within
        while now() < deadline and open_fds(self.pid) > baseline + 16:  # noqa: ASYNC110 - polling /proc
            await asyncio.sleep(0.1)

    # -- visitors: idle memory, then the reconnect storm --

    async def visitors_job(self) -> dict[str, Any]:
        sizes: list[int] = sorted(self.spec["sizes"])
        storm_messages = int(self.spec.get("storm_messages", 0))
        total = sizes[-1]
        started = now()
        visitors = await self.create_visitors(total)
        say(f"created {total} visitors in {now() - started:.1f}s")
        # Each conversation starts with one message, which every stream replays as it opens.
        statuses = await bounded((self.target.post(v, f"seed bm{v.index}x") for v in visitors), 16)
        assert all(s < 400 for s in statuses), f"seed posts failed: {sorted(set(statuses))}"

        def on_event(stream: Stream, event: str, event_id: str | None, data: str, at: float) -> None:
            visitor: Visitor = stream.owner
            if event == "message" and event_id:
                visitor.ids.append(int(event_id))
                if visitor.ids[-1] >= visitor.last_id and not visitor.caught_up_at:
                    visitor.caught_up_at = at

        await asyncio.sleep(1.0)
        fds_before = open_fds(self.pid)
        base = self.rss()
        result: dict[str, Any] = {"rss_base_mb": round(base / 2**20, 1), "memory": {}}
        opened = 0
        for size in sizes:
            batch = visitors[opened:size]
            for v in batch:
                v.last_id = 1
            t0 = now()
            streams = await self.open([self.visitor_stream(v, on_event) for v in batch])
            for v, s in zip(batch, streams, strict=True):
                v.stream = s
            await self.wait_caught_up(batch, 60)
            opened = size
            open_seconds = now() - t0
            await asyncio.sleep(2.0)
            rss = self.rss()
            result["memory"][str(size)] = {
                "kb_per_stream": round((rss - base) / size / 1024, 2),
                "rss_mb": round(rss / 2**20, 1),
                "open_seconds": round(open_seconds, 2),
                "server_fds": open_fds(self.pid),
            }
            say(f"{size} streams: {result['memory'][str(size)]}")
        bad = [v.index for v in visitors if v.ids != [1]]
        assert not bad, f"{len(bad)} visitors did not get exactly their first message on connect"
        if not storm_messages:
            return result
        # The storm: everyone drops, messages are posted meanwhile, everyone re-attaches with Last-Event-ID.
        for v in visitors:
            assert v.stream is not None
            v.stream.close()
        await self.settle_fds(fds_before)
        for v in visitors:
            v.ids, v.caught_up_at, v.last_id = [], 0.0, 1 + storm_messages
        for k in range(storm_messages):
            statuses = await bounded((self.target.post(v, f"away{k} bm{v.index}x") for v in visitors), 16)
            assert all(s < 400 for s in statuses), f"posts while away failed: {sorted(set(statuses))}"
        say(f"posted {storm_messages * total} messages while {total} visitors were away")
        t0 = now()
        streams = await self.open([self.visitor_stream(v, on_event, last_id=1) for v in visitors])
        connected = now() - t0
        caught = await self.wait_caught_up(visitors, float(self.spec.get("storm_timeout", 60)))
        expected = list(range(2, 2 + storm_messages))
        lost = sum(1 for v in visitors if set(expected) - set(v.ids))
        duplicated = sum(1 for v in visitors if len(v.ids) != len(set(v.ids)) or any(i <= 1 for i in v.ids))
        out_of_order = sum(1 for v in visitors if v.ids != sorted(v.ids))
        done = [v.caught_up_at for v in visitors if v.caught_up_at]
        result["storm"] = {
            "visitors": total,
            "messages_each": storm_messages,
            "seconds_all_caught_up": round(max(done) - t0, 3) if caught else None,
            "seconds_all_connected": round(connected, 3),
            "visitors_lost_messages": lost,
            "visitors_duplicated": duplicated,
            "visitors_out_of_order": out_of_order,
            "caught_up": len(done),
        }
        say(f"storm: {result['storm']}")
        for s in streams:
            s.close()
        return result

    async def wait_caught_up(self, visitors: list[Visitor], within: float) -> bool:
        deadline = now() + within
        while now() < deadline:
            if all(v.caught_up_at for v in visitors):
                return True
            await asyncio.sleep(0.02)
        return False

    # -- throughput and latency: open-loop posting, delivery timed on the visitor's and the admin's stream --

    async def active_set(self, count: int, idle: int = 0) -> list[Visitor]:
        """`idle` visitors with open streams (they only listen) and `count` posting visitors, each followed by its
        own visitor stream and an admin stream on its conversation. Admin streams open first."""
        t0 = now()
        idle_visitors = await self.create_visitors(idle, 32) if idle else []
        active = []
        for _ in range(count):  # one by one, after the idle ones: the newest in the admin's list
            active += await self.create_visitors(1)
        await self.target.resolve_conversations(active)
        self.deliveries: dict[int, dict[str, float]] = {}  # token -> {stream role: when it arrived}
        self.duplicates = 0
        self.streams: list[Stream] = []

        self.token_conversation: dict[int, int] = {}

        def on_event(stream: Stream, event: str, event_id: str | None, data: str, at: float) -> None:
            if event != "message":
                return
            match = TOKEN_RE.search(data)
            token = int(match.group(1)) if match else -1
            seen = self.deliveries.get(token)
            if seen is None:
                return
            role = stream.owner
            if isinstance(role, tuple):  # ("admin", conversation): only that conversation's messages count there
                role, conversation = role
                if conversation != self.token_conversation.get(token):
                    return
            if role in seen:
                self.duplicates += 1
            else:
                seen[role] = at

        admins = [
            self.target.stream_class(self.target.admin_request(v.conversation), on_event, ("admin", v.conversation))
            for v in active
        ]
        self.streams += await self.open(admins)
        visitors = [self.visitor_stream(v, on_event) for v in [*idle_visitors, *active]]
        for s in visitors:
            s.owner = "visitor"
        self.streams += await self.open(visitors)
        say(f"{len(active)} posting visitors, {idle} idle visitors, streams open in {now() - t0:.1f}s")
        gc.collect()
        gc.freeze()  # thousands of long-lived stream objects: keep full collections from pausing the sender
        await asyncio.sleep(1.0)
        return active

    async def step(self, active: list[Visitor], rate: float, seconds: float, drain: float) -> dict[str, Any]:
        """Offer `rate` msg/s for `seconds` (open loop: send times are fixed in advance, so a slow server cannot
        slow the sender); latency = scheduled send → the later of its two deliveries (visitor and admin)."""
        count = max(1, round(rate * seconds))
        base = getattr(self, "next_token", 0)
        self.next_token = base + count
        scheduled: dict[int, float] = {}
        errors = 0
        lateness: list[float] = []
        tasks: set[asyncio.Task[None]] = set()

        async def send(token: int, visitor: Visitor) -> None:
            nonlocal errors
            try:
                status = await self.target.post(visitor, f"bm{token}x")
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                status = 599
            if status >= 400:
                errors += 1

        cpu_before = cpu_seconds(self.pid)
        start = now() + 0.05
        k = 0
        while k < count:
            moment = now()
            while k < count and start + k / rate <= moment:
                token, at = base + k, start + k / rate
                lateness.append(moment - at)
                scheduled[token] = at
                self.deliveries[token] = {}
                self.token_conversation[token] = active[k % len(active)].conversation
                task = asyncio.get_running_loop().create_task(send(token, active[k % len(active)]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                k += 1
            if k < count:
                await asyncio.sleep(max(0.0, start + k / rate - now()))
        sent_all = now()
        deadline = sent_all + drain
        while now() < deadline and any(len(self.deliveries[t]) < 2 for t in scheduled):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        server_cpu = cpu_seconds(self.pid) - cpu_before
        latencies, last_delivery = [], start
        visitor_latencies, admin_latencies = [], []
        for token, at in scheduled.items():
            seen = self.deliveries.pop(token)
            self.token_conversation.pop(token, None)
            if len(seen) < 2:
                continue
            done = max(seen.values())
            last_delivery = max(last_delivery, done)
            latencies.append((done - at) * 1000)
            visitor_latencies.append((seen["visitor"] - at) * 1000)
            admin_latencies.append((seen["admin"] - at) * 1000)
        delivered = len(latencies)
        elapsed = max(last_delivery - start, 1e-9)
        result = {
            "offered_rate": round(rate, 1),
            "messages": count,
            "delivered": delivered,
            "late_or_lost": count - delivered,
            "post_errors": errors,
            "duplicates": self.duplicates,
            "achieved_rate": round(delivered / elapsed, 1),
            "p50_ms": round(percentile(latencies + [float("inf")] * (count - delivered), 50), 2),
            "p99_ms": round(percentile(latencies + [float("inf")] * (count - delivered), 99), 2),
            "visitor_p99_ms": round(percentile(visitor_latencies, 99), 2),
            "admin_p99_ms": round(percentile(admin_latencies, 99), 2),
            "sender_late_p99_ms": round(percentile(lateness, 99) * 1000, 2),
            "send_seconds": round(sent_all - start, 3),
            "posts_unanswered_at_drain": len(tasks),
            # The server's CPU time (all threads) per message offered, and its share of one core over the step.
            "server_cpu_ms_per_msg": round(server_cpu * 1000 / count, 2),
            "server_cpu_share": round(server_cpu / max(now() - start, 1e-9), 2),
        }
        if tasks:  # an overloaded server still works through the backlog: let it, so the next step starts clean
            await asyncio.wait(tasks, timeout=20)
        return result

    async def throughput_job(self) -> dict[str, Any]:
        spec = self.spec
        limit, seconds = float(spec["p99_limit_ms"]), float(spec["step_seconds"])
        active = await self.active_set(int(spec["conversations"]))
        await self.step(active, 20.0, 0.5, 2.0)  # warm-up, not counted
        steps: list[dict[str, Any]] = []
        deadline = now() + float(spec["time_budget"])

        def passes(result: dict[str, Any]) -> bool:
            return (
                result["late_or_lost"] == 0
                and result["post_errors"] == 0
                and result["p99_ms"] <= limit
                and result["achieved_rate"] >= 0.9 * result["offered_rate"]
            )

        async def run(rate: float) -> bool:
            result = await self.step(active, rate, seconds, max(1.0, limit / 1000 * 10))
            result["passed"] = passes(result)
            steps.append(result)
            say(f"rate {rate:.0f}: {result}")
            await asyncio.sleep(0.3)
            return result["passed"]

        growth, lowest = float(spec["growth"]), float(spec.get("min_rate", 5))
        rate, good, bad = float(spec["start_rate"]), 0.0, 0.0
        if await run(rate):  # climb until a step fails
            good = rate
            while rate * growth <= float(spec["max_rate"]) and now() < deadline:
                rate *= growth
                if not await run(rate):
                    bad = rate
                    break
                good = rate
        else:  # or descend until one passes
            bad = rate
            while rate / growth >= lowest and now() < deadline:
                rate /= growth
                if await run(rate):
                    good = rate
                    break
                bad = rate
        for _ in range(int(spec.get("refine", 0))):
            if not bad or not good or now() > deadline:
                break
            middle = (good + bad) / 2
            if await run(middle):
                good = middle
            else:
                bad = middle
        best = max((s for s in steps if s["passed"]), key=lambda s: s["offered_rate"], default=None)
        return {
            "max_rate": best["offered_rate"] if best else 0.0,
            # When no step passed, the latencies shown are those of the gentlest step tried.
            "at_max": best or min(steps, key=lambda s: s["offered_rate"]),
            "first_failure": bad or None,
            "ceiling_reached": not bad,
            "steps": steps,
        }

    async def latency_job(self) -> dict[str, Any]:
        spec = self.spec
        total, count = int(spec["visitors"]), int(spec["conversations"])
        active = await self.active_set(count, idle=total - count)
        await self.step(active, 20.0, 0.5, 2.0)  # warm-up, not counted
        result = await self.step(active, float(spec["rate"]), float(spec["seconds"]), 3.0)
        result["visitors_connected"] = total
        result["rss_mb"] = round(self.rss() / 2**20, 1)
        return result


async def main_async(spec: dict[str, Any]) -> dict[str, Any]:
    job = Job(spec)
    await job.target.prepare()
    runner = {"visitors": job.visitors_job, "throughput": job.throughput_job, "latency": job.latency_job}
    try:
        return await asyncio.wait_for(runner[spec["job"]](), float(spec.get("timeout", 300)))
    finally:
        for stream in getattr(job, "streams", []):
            stream.close()
        for visitor in job.visitors:
            if visitor.stream is not None:
                visitor.stream.close()
        job.target.pool.close()


def main() -> None:
    spec = json.loads(sys.stdin.read())
    pin_self(LOAD_CPU)
    raise_fd_limit()
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    result = runner(main_async(spec))
    print(json.dumps(result))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
