"""The fake Telegram Bot API itself, driven directly over HTTP with httpx (no app server): it must behave like
Telegram for the bridge's tests to mean anything."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.fakes.telegram import FakeTelegram
from tests.media_files import image, ogg_opus

OTHER_POLL = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram().start()
    yield telegram
    telegram.stop()


@pytest.fixture
def forum() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram(forum=True).start()
    yield telegram
    telegram.stop()


def bot(fake: FakeTelegram, timeout: float = 15.0) -> httpx.Client:
    return httpx.Client(base_url=f"{fake.api_base}/bot{fake.token}/", timeout=timeout)


def call(fake: FakeTelegram, method: str, **params: Any) -> httpx.Response:
    with bot(fake) as client:
        return client.post(method, json=params)


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True, body
    return body["result"]


def error(response: httpx.Response, status: int = 400) -> str:
    body = response.json()
    assert response.status_code == status and body == {
        "ok": False,
        "error_code": status,
        "description": body["description"],
        **({"parameters": body["parameters"]} if "parameters" in body else {}),
    }, body
    return body["description"]


def update_ids(response: httpx.Response) -> list[int]:
    return [update["update_id"] for update in ok(response)]


class Background:
    """A call made in a thread, to look at while it waits."""

    def __init__(self, fake: FakeTelegram, method: str, **params: Any) -> None:
        self.response: httpx.Response | None = None
        self.exception: Exception | None = None
        self.started = time.monotonic()
        self.finished = 0.0

        def run() -> None:
            try:
                self.response = call(fake, method, **params)
            except Exception as exc:
                self.exception = exc
            self.finished = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> httpx.Response:
        self.thread.join(20)
        assert not self.thread.is_alive()
        assert self.response is not None, self.exception
        return self.response


def wait_for_waiting_poll(fake: FakeTelegram) -> None:
    deadline = time.monotonic() + 5
    while not any(poll.ended is None for poll in fake.polls):
        assert time.monotonic() < deadline, "no poll waiting"
        time.sleep(0.01)


# -- basics ------------------------------------------------------------------------------------------------


def test_token_method_and_chat_checks(fake):
    assert ok(call(fake, "getMe"))["is_bot"] is True
    with httpx.Client(base_url=f"{fake.api_base}/bot1:wrong/") as client:
        assert error(client.post("getMe"), 401) == "Unauthorized"
    assert error(call(fake, "sendSticker", chat_id=fake.chat_id), 404) == "Not Found"
    assert error(call(fake, "sendMessage", chat_id="999", text="x")) == "Bad Request: chat not found"
    assert error(call(fake, "sendMessage", chat_id=fake.chat_id, text="")) == "Bad Request: message text is empty"
    with bot(fake) as client:
        form = client.post("sendMessage", data={"chat_id": fake.chat_id, "text": "form encoded"})
        multipart = client.post("sendMessage", data={"chat_id": fake.chat_id, "text": "multipart"}, files={"x": b""})
    assert ok(form)["chat"] == {"id": 424242, "type": "private", "first_name": "Admin"}
    first, second = ok(form)["message_id"], ok(multipart)["message_id"]
    assert second == first + 1
    assert fake.sent_texts() == ["form encoded", "multipart"]
    assert fake.sent_message(first)["text"] == "form encoded"
    assert [c.method for c in fake.sent()] == ["sendMessage", "sendMessage"]
    chat = ok(call(fake, "getChat", chat_id=fake.chat_id))
    assert chat["id"] == 424242 and chat["type"] == "private" and "is_forum" not in chat
    assert error(call(fake, "getChat", chat_id=-100777)) == "Bad Request: chat not found"


def test_text_and_caption_limits_count_utf16_units(fake):
    chat = fake.chat_id
    assert ok(call(fake, "sendMessage", chat_id=chat, text="a" * 4096))
    assert error(call(fake, "sendMessage", chat_id=chat, text="a" * 4097)) == "Bad Request: message is too long"
    assert ok(call(fake, "sendMessage", chat_id=chat, text="😀" * 2048))  # 2 units each
    assert error(call(fake, "sendMessage", chat_id=chat, text="😀" * 2049)) == "Bad Request: message is too long"
    assert error(call(fake, "sendMessage", chat_id=chat, text="  \n")) == "Bad Request: message text is empty"
    photo = {"photo": ("p.png", image("PNG"), "image/png")}
    with bot(fake) as client:
        fine = client.post("sendPhoto", data={"chat_id": chat, "caption": "ç" * 1024}, files=photo)
        long = client.post("sendPhoto", data={"chat_id": chat, "caption": "😀" * 513}, files=photo)
    assert ok(fine)["caption"] == "ç" * 1024
    assert error(long) == "Bad Request: message caption is too long"
    assert fake.captions() == ["ç" * 1024]


def test_replies_need_an_existing_message(fake):
    chat = fake.chat_id
    first = ok(call(fake, "sendMessage", chat_id=chat, text="first"))["message_id"]
    reply = ok(call(fake, "sendMessage", chat_id=chat, text="re", reply_parameters={"message_id": first}))
    assert reply["reply_to_message"]["message_id"] == first and reply["reply_to_message"]["text"] == "first"
    with bot(fake) as client:
        as_string = client.post(
            "sendMessage", data={"chat_id": chat, "text": "re", "reply_parameters": json.dumps({"message_id": first})}
        )
    assert ok(as_string)["reply_to_message"]["message_id"] == first
    old_style = ok(call(fake, "sendMessage", chat_id=chat, text="re", reply_to_message_id=first))
    assert old_style["reply_to_message"]["message_id"] == first
    missing = call(fake, "sendMessage", chat_id=chat, text="re", reply_parameters={"message_id": 99999})
    assert error(missing) == "Bad Request: message to be replied not found"
    allowed = call(
        fake,
        "sendMessage",
        chat_id=chat,
        text="re",
        reply_parameters={"message_id": 99999, "allow_sending_without_reply": True},
    )
    assert "reply_to_message" not in ok(allowed)


# -- updates -----------------------------------------------------------------------------------------------


def test_get_updates_offset_confirms_and_limit(fake):
    ids = [fake.admin_message(f"m{i}")["update_id"] for i in range(3)]
    assert ids == sorted(ids) and ids[1] == ids[0] + 1
    assert update_ids(call(fake, "getUpdates")) == ids
    assert update_ids(call(fake, "getUpdates")) == ids  # not confirmed yet
    assert update_ids(call(fake, "getUpdates", limit=2)) == ids[:2]
    assert update_ids(call(fake, "getUpdates", offset=ids[1])) == ids[1:]
    assert update_ids(call(fake, "getUpdates")) == ids[1:]  # ids[0] is gone for good
    assert update_ids(call(fake, "getUpdates", offset=str(ids[2] + 1))) == []
    assert fake.pending_update_ids() == []
    message = ok(call(fake, "getUpdates"))
    assert message == []
    fake.admin_message("/start now")
    (update,) = ok(call(fake, "getUpdates"))
    assert update["message"]["from"]["id"] == 424242 and update["message"]["chat"]["id"] == 424242
    assert update["message"]["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]


def test_long_poll_waits_and_wakes_on_push(fake):
    started = time.monotonic()
    assert ok(call(fake, "getUpdates", timeout=1)) == []
    assert 0.9 <= time.monotonic() - started < 3
    waiting = Background(fake, "getUpdates", timeout=10)
    wait_for_waiting_poll(fake)
    time.sleep(0.2)
    pushed = fake.admin_message("wake up")["update_id"]
    response = waiting.join()
    assert update_ids(response) == [pushed]
    assert waiting.finished - waiting.started < 3
    poll = fake.polls[-1]
    assert poll.status == 200 and poll.update_ids == [pushed] and poll.timeout == 10 and poll.client
    assert call(fake, "getUpdates", timeout=999).status_code == 200  # capped at 50: an update is pending anyway


def test_a_second_poll_terminates_the_waiting_one(fake):
    waiting = Background(fake, "getUpdates", timeout=10)
    wait_for_waiting_poll(fake)
    assert ok(call(fake, "getUpdates", timeout=0)) == []
    assert error(waiting.join(), 409) == OTHER_POLL
    assert fake.poll_conflicts == 1
    assert fake.max_concurrent_polls == 2


def test_sequential_polls_never_overlap(fake):
    for _ in range(3):
        call(fake, "getUpdates", timeout=0)
    fake.admin_message("x")
    call(fake, "getUpdates", timeout=5)
    assert fake.max_concurrent_polls == 1 and fake.poll_conflicts == 0
    assert [p.status for p in fake.polls] == [200] * 4


def test_redelivered_update_comes_back_with_the_same_id(fake):
    pushed = fake.admin_message("once")["update_id"]
    assert update_ids(call(fake, "getUpdates")) == [pushed]
    assert update_ids(call(fake, "getUpdates", offset=pushed + 1)) == []
    fake.redeliver(pushed)
    again = call(fake, "getUpdates", offset=pushed + 1)
    assert update_ids(again) == [pushed]
    assert ok(again)[0]["message"]["text"] == "once"
    assert update_ids(call(fake, "getUpdates", offset=pushed + 1)) == []


def test_allowed_updates_filter_and_non_message_updates(fake):
    sent = ok(call(fake, "sendMessage", chat_id=fake.chat_id, text="hi"))["message_id"]
    edited = fake.edited_message(sent, "hi (edited)")
    query = fake.callback_query("yes", message_id=sent)
    message = fake.admin_message("plain")
    stranger = fake.stranger_message("who are you?")
    assert edited["edited_message"]["text"] == "hi (edited)" and "edit_date" in edited["edited_message"]
    assert query["callback_query"]["data"] == "yes" and query["callback_query"]["message"]["message_id"] == sent
    chat = stranger["message"]["chat"]
    assert chat["type"] == "private" and str(chat["id"]) != fake.chat_id
    assert stranger["message"]["from"]["id"] == chat["id"]
    assert ok(call(fake, "getChat", chat_id=chat["id"]))["first_name"] == "Stranger"
    everything = update_ids(call(fake, "getUpdates"))
    assert everything == [edited["update_id"], query["update_id"], message["update_id"], stranger["update_id"]]
    only_messages = update_ids(call(fake, "getUpdates", allowed_updates=["message"]))
    assert only_messages == [message["update_id"], stranger["update_id"]]


def test_down_drops_a_waiting_poll(fake):
    waiting = Background(fake, "getUpdates", timeout=10)
    wait_for_waiting_poll(fake)
    fake.down()
    waiting.thread.join(5)
    assert waiting.response is None and isinstance(waiting.exception, httpx.TransportError)
    fake.up()
    assert ok(call(fake, "getUpdates")) == []


# -- webhook -----------------------------------------------------------------------------------------------


class Receiver:
    """A tiny webhook endpoint on loopback recording what it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/telegram/webhook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def test_webhook_blocks_polling_and_ends_a_waiting_poll(fake, receiver):
    waiting = Background(fake, "getUpdates", timeout=10)
    wait_for_waiting_poll(fake)
    with bot(fake) as client:
        answer = client.post("setWebhook", data={"url": receiver.url, "secret_token": "s3cret_-X"}).json()
    assert answer == {"ok": True, "result": True, "description": "Webhook was set"}
    assert error(waiting.join(), 409) == "Conflict: terminated by setWebhook request"
    assert error(call(fake, "getUpdates"), 409) == WEBHOOK_ACTIVE
    fake.admin_message("queued")
    info = ok(call(fake, "getWebhookInfo"))
    assert info == {
        "url": receiver.url,
        "has_custom_certificate": False,
        "pending_update_count": 1,
        "max_connections": 40,
    }
    bad = call(fake, "setWebhook", url=receiver.url, secret_token="no spaces!")
    assert error(bad) == "Bad Request: secret token contains unallowed characters"
    assert error(call(fake, "setWebhook", url=receiver.url, secret_token="x" * 257))
    assert fake.webhook is not None and fake.webhook.secret_token == "s3cret_-X"
    assert call(fake, "deleteWebhook").json()["description"] == "Webhook was deleted"
    assert call(fake, "deleteWebhook").json()["description"] == "Webhook is already deleted"
    assert ok(call(fake, "getWebhookInfo")) == {"url": "", "has_custom_certificate": False, "pending_update_count": 1}
    assert len(ok(call(fake, "getUpdates"))) == 1


def test_deliver_webhook_posts_json_with_the_secret_header(fake, receiver):
    ok(call(fake, "setWebhook", url=receiver.url, secret_token="topsecret", allowed_updates=["message"]))
    assert ok(call(fake, "getWebhookInfo"))["allowed_updates"] == ["message"]
    update = fake.admin_message("over the webhook")
    status, body = fake.deliver_webhook(update)
    assert (status, body) == (200, b"ok")
    path, headers, sent = receiver.requests[-1]
    assert path == "/telegram/webhook" and headers["X-Telegram-Bot-Api-Secret-Token"] == "topsecret"
    assert headers["Content-Type"] == "application/json" and json.loads(sent) == update
    assert ok(call(fake, "getWebhookInfo"))["pending_update_count"] == 0
    fake.deliver_webhook(update, secret="")
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.requests[-1][1]
    fake.deliver_webhook(update, secret="wrong")
    assert receiver.requests[-1][1]["X-Telegram-Bot-Api-Secret-Token"] == "wrong"
    receiver.status = 401
    assert fake.deliver_webhook(update)[0] == 401
    assert ok(call(fake, "getWebhookInfo"))["last_error_message"] == "Wrong response from the webhook: 401"
    receiver.status = 200
    first, second = fake.admin_message("a")["update_id"], fake.admin_message("b")["update_id"]
    assert fake.flush_webhook() == [(first, 200), (second, 200)]
    assert [json.loads(body)["message"]["text"] for _, _, body in receiver.requests[-2:]] == ["a", "b"]
    assert [d.status for d in fake.webhook_deliveries][-2:] == [200, 200]


# -- forum topics ------------------------------------------------------------------------------------------


def test_forum_topics(forum):
    chat = forum.chat_id
    assert chat == "-1001234567890"
    info = ok(call(forum, "getChat", chat_id=int(chat)))
    assert info["type"] == "supergroup" and info["is_forum"] is True and info["title"]
    topic = ok(call(forum, "createForumTopic", chat_id=chat, name="Zeynep"))
    thread = topic["message_thread_id"]
    assert topic == {"message_thread_id": thread, "name": "Zeynep", "icon_color": 7322096}
    assert forum.topics[thread].name == "Zeynep" and not forum.topics[thread].deleted
    sent = ok(call(forum, "sendMessage", chat_id=chat, text="in the topic", message_thread_id=thread))
    assert sent["message_thread_id"] == thread and sent["is_topic_message"] is True
    assert sent["chat"] == {"id": int(chat), "title": forum.chat_title, "is_forum": True, "type": "supergroup"}
    assert sent["reply_to_message"]["forum_topic_created"]["name"] == "Zeynep"
    assert [c.result["text"] for c in forum.sent(thread_id=thread)] == ["in the topic"]
    general = ok(call(forum, "sendMessage", chat_id=chat, text="general"))
    assert "message_thread_id" not in general and "reply_to_message" not in general

    update = forum.admin_message("answer", thread_id=thread)
    message = update["message"]
    assert message["message_thread_id"] == thread and message["is_topic_message"] is True
    assert message["reply_to_message"]["message_id"] == thread
    assert message["from"]["id"] != int(chat) and message["chat"]["id"] == int(chat)
    explicit = forum.admin_message("quoting", thread_id=thread, reply_to=sent["message_id"])["message"]
    assert explicit["reply_to_message"]["text"] == "in the topic"
    # A reply to a topic message lands in that topic.
    reply = ok(call(forum, "sendMessage", chat_id=chat, text="r", reply_parameters={"message_id": sent["message_id"]}))
    assert reply["message_thread_id"] == thread

    assert error(call(forum, "createForumTopic", chat_id=chat, name="")) == "Bad Request: TOPIC_NAME_INVALID"
    assert error(call(forum, "createForumTopic", chat_id=chat, name="n" * 129)) == "Bad Request: TOPIC_NAME_INVALID"
    assert ok(call(forum, "closeForumTopic", chat_id=chat, message_thread_id=thread)) is True
    again = call(forum, "closeForumTopic", chat_id=chat, message_thread_id=thread)
    assert error(again) == "Bad Request: TOPIC_NOT_MODIFIED"
    assert ok(call(forum, "sendMessage", chat_id=chat, text="closed, still ok", message_thread_id=thread))
    assert ok(call(forum, "reopenForumTopic", chat_id=chat, message_thread_id=thread)) is True
    same = call(forum, "editForumTopic", chat_id=chat, message_thread_id=thread, name="Zeynep")
    assert error(same) == "Bad Request: TOPIC_NOT_MODIFIED"
    assert ok(call(forum, "editForumTopic", chat_id=chat, message_thread_id=thread, name="Zeynep (closed)"))
    assert forum.topics[thread].name == "Zeynep (closed)"

    unknown = call(forum, "sendMessage", chat_id=chat, text="x", message_thread_id=thread + 1000)
    assert error(unknown) == "Bad Request: message thread not found"
    forum.delete_topic(thread)
    gone = call(forum, "sendMessage", chat_id=chat, text="x", message_thread_id=thread)
    assert error(gone) == "Bad Request: message thread not found"
    forum.deleted_topic_error = "Bad Request: TOPIC_DELETED"
    assert error(call(forum, "sendMessage", chat_id=chat, text="x", message_thread_id=thread)) == (
        "Bad Request: TOPIC_DELETED"
    )
    assert error(call(forum, "closeForumTopic", chat_id=chat, message_thread_id=thread)) == (
        "Bad Request: TOPIC_ID_INVALID"
    )
    other = ok(call(forum, "createForumTopic", chat_id=chat, name="Ali"))["message_thread_id"]
    assert ok(call(forum, "deleteForumTopic", chat_id=chat, message_thread_id=other)) is True
    assert forum.topics[other].deleted


def test_topics_need_a_forum(fake):
    refused = call(fake, "createForumTopic", chat_id=fake.chat_id, name="x")
    assert error(refused) == "Bad Request: the chat is not a forum"
    in_thread = call(fake, "sendMessage", chat_id=fake.chat_id, text="x", message_thread_id=5)
    assert error(in_thread) == "Bad Request: message thread not found"


# -- media and files ---------------------------------------------------------------------------------------


def test_multipart_send_photo_records_the_upload(fake):
    png = image("PNG", (400, 300))
    first = ok(call(fake, "sendMessage", chat_id=fake.chat_id, text="before"))["message_id"]
    with bot(fake) as client:
        response = client.post(
            "sendPhoto",
            data={
                "chat_id": fake.chat_id,
                "caption": "Ali:\n[image] look",
                "reply_parameters": json.dumps({"message_id": first}),
            },
            files={"photo": ("pic.png", png, "image/png")},
        )
    message = ok(response)
    recorded = fake.calls_to("sendPhoto")[-1]
    assert recorded.files == {"photo": ("pic.png", "image/png", png)}
    assert recorded.params["chat_id"] == fake.chat_id and "photo" not in recorded.params
    sizes = message["photo"]
    assert len(sizes) >= 2 and sizes[-1]["width"] == 400 and sizes[-1]["height"] == 300
    assert sizes[0]["width"] < 400 and all(s["file_id"] and s["file_unique_id"] for s in sizes)
    assert fake.file_bytes(sizes[-1]["file_id"]) == png
    assert message["caption"] == "Ali:\n[image] look" and message["reply_to_message"]["message_id"] == first
    assert fake.captions() == ["Ali:\n[image] look"]
    assert fake.sent("sendPhoto")[0].result == message == fake.sent_message(message["message_id"])
    # The same file again by file_id (a plain string field).
    again = ok(call(fake, "sendPhoto", chat_id=fake.chat_id, photo=sizes[-1]["file_id"]))
    assert again["photo"] == sizes and "caption" not in again
    assert fake.captions() == ["Ali:\n[image] look", ""]
    with bot(fake) as client:
        junk = client.post(
            "sendPhoto", data={"chat_id": fake.chat_id}, files={"photo": ("x.png", b"nope", "image/png")}
        )
        nothing = client.post("sendPhoto", data={"chat_id": fake.chat_id})
        empty = client.post("sendPhoto", data={"chat_id": fake.chat_id}, files={"photo": ("x.png", b"", "image/png")})
        wrong_kind = client.post("sendVoice", data={"chat_id": fake.chat_id, "voice": sizes[-1]["file_id"]})
        unknown_id = client.post("sendDocument", data={"chat_id": fake.chat_id, "document": "AgAC-unknown"})
    assert error(junk) == "Bad Request: IMAGE_PROCESS_FAILED"
    assert error(nothing) == "Bad Request: there is no photo in the request"
    assert error(empty) == "Bad Request: file must be non-empty"
    assert error(wrong_kind) == "Bad Request: type of file mismatch"
    assert error(unknown_id) == "Bad Request: wrong file identifier/HTTP URL specified"


def test_voice_audio_and_document_uploads(fake):
    voice_bytes, pdf = ogg_opus(), b"%PDF-1.4 fake"
    with bot(fake) as client:
        voice = client.post(
            "sendVoice",
            data={"chat_id": fake.chat_id, "caption": "v", "duration": "3"},
            files={"voice": ("v.ogg", voice_bytes, "audio/ogg")},
        )
        audio = client.post(
            "sendAudio", data={"chat_id": fake.chat_id}, files={"audio": ("song.mp3", b"ID3 mp3", "audio/mpeg")}
        )
        document = client.post(
            "sendDocument",
            data={"chat_id": fake.chat_id, "document": "attach://upload"},
            files={"upload": ("report.pdf", pdf, "application/pdf")},
        )
    voice_object = ok(voice)["voice"]
    assert voice_object["mime_type"] == "audio/ogg" and voice_object["duration"] == 3
    assert voice_object["file_size"] == len(voice_bytes) and fake.file_bytes(voice_object["file_id"]) == voice_bytes
    audio_object = ok(audio)["audio"]
    assert audio_object["mime_type"] == "audio/mpeg" and audio_object["file_name"] == "song.mp3"
    document_object = ok(document)["document"]
    assert document_object["file_name"] == "report.pdf" and document_object["mime_type"] == "application/pdf"
    assert fake.calls_to("sendDocument")[-1].files["upload"] == ("report.pdf", "application/pdf", pdf)
    assert [c.method for c in fake.sent()] == ["sendVoice", "sendAudio", "sendDocument"]
    assert fake.captions() == ["v", "", ""]


def test_get_file_and_download(fake):
    file_id, unique = fake.add_file(b"hello bytes", file_path_hint="voice/note.oga")
    info = ok(call(fake, "getFile", file_id=file_id))
    assert info == {"file_id": file_id, "file_unique_id": unique, "file_size": 11, "file_path": info["file_path"]}
    assert info["file_path"].startswith("voice/") and info["file_path"].endswith(".oga")
    download = httpx.get(f"{fake.api_base}/file/bot{fake.token}/{info['file_path']}")
    assert download.status_code == 200 and download.content == b"hello bytes"
    assert httpx.get(f"{fake.api_base}/file/bot1:wrong/{info['file_path']}").status_code == 404
    assert httpx.get(f"{fake.api_base}/file/bot{fake.token}/voice/nothing.oga").status_code == 404
    assert [(d.status, d.token_ok) for d in fake.downloads] == [(200, True), (404, False), (404, True)]
    big, _ = fake.add_file(b"\0" * (20 * 1024 * 1024 + 1))
    assert error(call(fake, "getFile", file_id=big)) == "Bad Request: file is too big"
    assert error(call(fake, "getFile", file_id="nope")) == "Bad Request: invalid file_id"


def test_incoming_media_builders(fake):
    picture = image("JPEG", (640, 480))
    update = fake.admin_message(caption="look", photo=picture)
    sizes = update["message"]["photo"]
    assert len(sizes) >= 2 and update["message"]["caption"] == "look" and "text" not in update["message"]
    largest = ok(call(fake, "getFile", file_id=sizes[-1]["file_id"]))
    assert httpx.get(f"{fake.api_base}/file/bot{fake.token}/{largest['file_path']}").content == picture
    smallest = ok(call(fake, "getFile", file_id=sizes[0]["file_id"]))
    assert httpx.get(f"{fake.api_base}/file/bot{fake.token}/{smallest['file_path']}").status_code == 200
    voice = fake.admin_message(voice=b"OggS voice")["message"]["voice"]
    assert voice["mime_type"] == "audio/ogg" and voice["file_size"] == 10 and voice["duration"] >= 1
    audio = fake.admin_message(audio=b"ID3 audio")["message"]["audio"]
    assert audio["mime_type"] == "audio/mpeg" and fake.file_bytes(audio["file_id"]) == b"ID3 audio"
    document = fake.admin_message(document=("notes.txt", "text/plain", b"notes"))["message"]["document"]
    assert document["file_name"] == "notes.txt" and document["mime_type"] == "text/plain"
    hidden = fake.admin_message("not queued", deliver=False)
    assert "update_id" not in hidden
    assert len(ok(call(fake, "getUpdates"))) == 4
    # A sent photo can be forwarded by file_id the admin sent.
    assert ok(call(fake, "sendPhoto", chat_id=fake.chat_id, photo=sizes[-1]["file_id"]))["photo"] == sizes


# -- scripting ---------------------------------------------------------------------------------------------


def test_method_scoped_failures_and_hangs(fake):
    fake.fail_next(1, 500, method="sendPhoto")
    assert ok(call(fake, "sendMessage", chat_id=fake.chat_id, text="passes"))
    photo = image("PNG")
    with bot(fake) as client:
        failed = client.post("sendPhoto", data={"chat_id": fake.chat_id}, files={"photo": ("p.png", photo)})
        passed = client.post("sendPhoto", data={"chat_id": fake.chat_id}, files={"photo": ("p.png", photo)})
    assert error(failed, 500) == "Internal Server Error" and ok(passed)
    fake.fail_next(1, 429, retry_after=3, method="getUpdates")
    limited = call(fake, "getUpdates")
    assert error(limited, 429) == "Too Many Requests: retry after 3"
    assert limited.json()["parameters"] == {"retry_after": 3}
    fake.fail_next(1, 403, method="sendMessage", description="Forbidden: bot was blocked by the user")
    assert error(call(fake, "sendMessage", chat_id=fake.chat_id, text="x"), 403).startswith("Forbidden")
    fake.fail_next(1, 502)  # any method: the very next call
    assert error(call(fake, "getMe"), 502)
    assert ok(call(fake, "getMe"))
    fake.hang_seconds = 0.3
    fake.hang_next(1, method="sendDocument")
    assert ok(call(fake, "sendMessage", chat_id=fake.chat_id, text="not hung"))
    started = time.monotonic()
    with bot(fake) as client:
        hung = client.post("sendDocument", data={"chat_id": fake.chat_id}, files={"document": ("a.txt", b"a")})
    assert error(hung, 504) == "Gateway Timeout" and time.monotonic() - started >= 0.3
    file_id, _ = fake.add_file(b"abc")
    path = ok(call(fake, "getFile", file_id=file_id))["file_path"]
    fake.fail_next(1, 500, method="download")
    assert httpx.get(f"{fake.api_base}/file/bot{fake.token}/{path}").status_code == 500
    assert httpx.get(f"{fake.api_base}/file/bot{fake.token}/{path}").content == b"abc"


def test_commands_deletes_and_reactions(fake):
    commands = [{"command": "start", "description": "Start"}, {"command": "help", "description": "Help"}]
    assert ok(call(fake, "setMyCommands", commands=commands)) is True
    assert ok(call(fake, "getMyCommands")) == commands
    bad = call(fake, "setMyCommands", commands=[{"command": "Bad Command", "description": "x"}])
    assert error(bad) == "Bad Request: BOT_COMMAND_INVALID"
    sent = ok(call(fake, "sendMessage", chat_id=fake.chat_id, text="bye"))["message_id"]
    reaction = [{"type": "emoji", "emoji": "👍"}]
    assert ok(call(fake, "setMessageReaction", chat_id=fake.chat_id, message_id=sent, reaction=reaction)) is True
    assert fake.reactions[sent] == reaction
    assert ok(call(fake, "deleteMessage", chat_id=fake.chat_id, message_id=sent)) is True
    again = call(fake, "deleteMessage", chat_id=fake.chat_id, message_id=sent)
    assert error(again) == "Bad Request: message to delete not found"
    gone = call(fake, "setMessageReaction", chat_id=fake.chat_id, message_id=sent, reaction=reaction)
    assert error(gone) == "Bad Request: message to react not found"


def test_reset_forgets_state_but_keeps_configuration(forum, receiver):
    token, chat = forum.token, forum.chat_id
    thread = ok(call(forum, "createForumTopic", chat_id=chat, name="t"))["message_thread_id"]
    forum.admin_message("x", thread_id=thread)
    forum.add_file(b"x")
    forum.deleted_topic_error = "Bad Request: TOPIC_DELETED"
    call(forum, "getUpdates")
    ok(call(forum, "setWebhook", url=receiver.url))
    forum.fail_next(5, 500)
    forum.reset()
    assert (forum.token, forum.chat_id, forum.forum) == (token, chat, True)
    assert forum.calls == [] and forum.topics == {} and forum.files == {} and forum.messages == {}
    assert forum.webhook is None and forum.polls == [] and forum.pending_update_ids() == []
    assert forum.deleted_topic_error == "Bad Request: message thread not found"
    assert ok(call(forum, "getUpdates")) == []
    assert forum.max_concurrent_polls == 1
