"""The old stack: a minimal Flask-SocketIO + eventlet chat doing the same job as Sohbet.

`POST /start` makes a conversation; `POST /send` (form `c`, `text`) encrypts the text with Fernet, stores it in
SQLite (WAL) and emits it to the conversation's room (its visitor) and to the admins' room (every admin socket
sees every conversation). A socket connects with `?c=ID&last=N` (`&role=admin` for an admin with that conversation
open; Engine.IO 4, WebSocket transport) and first gets what that conversation stored after `last`. Runs only in
benchmarks/.venv-peer (Flask, Flask-SocketIO, eventlet).

Usage: `.venv-peer/bin/python benchmarks/peers/socketio_chat.py PORT DATABASE_PATH [ASYNC_MODE]`.
"""

from __future__ import annotations

import sys

ASYNC_MODE = sys.argv[3] if len(sys.argv) > 3 else "eventlet"
if ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import html  # noqa: E402
import json  # noqa: E402
import sqlite3  # noqa: E402
import threading  # noqa: E402

from cryptography.fernet import Fernet  # noqa: E402
from flask import Flask, Response, request  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402

PORT = int(sys.argv[1])
DATABASE = sys.argv[2]

app = Flask(__name__)
socketio = SocketIO(app, async_mode=ASYNC_MODE, logger=False, engineio_logger=False, cors_allowed_origins=[])
fernet = Fernet(Fernet.generate_key())
lock = threading.Lock()
db = sqlite3.connect(DATABASE, check_same_thread=False, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS conversation (id INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0)")
db.execute(
    "CREATE TABLE IF NOT EXISTS message (id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " body BLOB NOT NULL, UNIQUE (conversation, seq))"
)


def render(seq: int, text: str) -> str:
    return f'<article class="msg" data-seq="{seq}"><div class="msg-text">{html.escape(text)}</div></article>'


@app.post("/start")
def start() -> Response:
    with lock:
        conversation = db.execute("INSERT INTO conversation (last_seq) VALUES (0) RETURNING id").fetchone()[0]
    return Response(json.dumps({"id": conversation}), mimetype="application/json")


@app.post("/send")
def send() -> Response:
    conversation = int(request.form["c"])
    text = request.form.get("text", "")
    body = fernet.encrypt(text.encode())
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "UPDATE conversation SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", (conversation,)
            ).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return Response("no such conversation", status=404)
            seq = row[0]
            db.execute("INSERT INTO message (conversation, seq, body) VALUES (?, ?, ?)", (conversation, seq, body))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    event = {"id": seq, "html": render(seq, text)}
    socketio.emit("message", event, to=f"c{conversation}")
    socketio.emit("message", event, to="admins")
    return Response("ok")


@app.get("/health")
def health() -> Response:
    return Response("ok")


@socketio.on("connect")
def connect(auth=None) -> None:
    conversation = int(request.args.get("c", "0"))
    last = int(request.args.get("last", "0") or 0)
    join_room("admins" if request.args.get("role") == "admin" else f"c{conversation}")
    with lock:
        rows = db.execute(
            "SELECT seq, body FROM message WHERE conversation = ? AND seq > ? ORDER BY seq", (conversation, last)
        ).fetchall()
    for seq, body in rows:
        emit("message", {"id": seq, "html": render(seq, fernet.decrypt(body).decode())})


if __name__ == "__main__":
    # eventlet's WSGI server serves at most `max_size` connections at once (1,024 by default; the rest wait to be
    # accepted): raised, as a deployment of the old stack for thousands of visitors would.
    options = {"max_size": 100_000} if ASYNC_MODE == "eventlet" else {}
    socketio.run(app, host="127.0.0.1", port=PORT, log_output=False, **options)
