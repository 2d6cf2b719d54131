"""The fake Telegram's core: its state and lifecycle (a real HTTP server on loopback), scripted failures, what
tests look at, the admin chat and its users, and the dispatch of a Bot API call to the method that answers it."""

from __future__ import annotations

import re
import secrets
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any, Self

from tests.fakes.telegram.protocol import (
    FORUM_ADMIN_ID,
    FORUM_CHAT_ID,
    MEDIA_METHODS,
    PRIVATE_CHAT_ID,
    SEND_METHODS,
    THREAD_NOT_FOUND,
    ApiError,
    Call,
    Described,
    Download,
    Pending,
    Poll,
    Script,
    StoredFile,
    Topic,
    Webhook,
    WebhookDelivery,
    bad_request,
)
from tests.fakes.telegram.server import FakeHandler

# Bot API method -> the FakeTelegram method that answers it (each defined in the module of its concern).
API_METHODS = {
    "getMe": "_api_get_me",
    "getChat": "_api_get_chat",
    "sendMessage": "_api_send",
    "sendPhoto": "_api_send",
    "sendAudio": "_api_send",
    "sendVoice": "_api_send",
    "sendDocument": "_api_send",
    "createForumTopic": "_api_create_forum_topic",
    "editForumTopic": "_api_edit_forum_topic",
    "closeForumTopic": "_api_close_forum_topic",
    "reopenForumTopic": "_api_reopen_forum_topic",
    "deleteForumTopic": "_api_delete_forum_topic",
    "getUpdates": "_api_get_updates",
    "setWebhook": "_api_set_webhook",
    "deleteWebhook": "_api_delete_webhook",
    "getWebhookInfo": "_api_get_webhook_info",
    "getFile": "_api_get_file",
    "deleteMessage": "_api_delete_message",
    "setMessageReaction": "_api_set_message_reaction",
    "setMyCommands": "_api_set_my_commands",
    "getMyCommands": "_api_get_my_commands",
    "deleteMyCommands": "_api_delete_my_commands",
}


class FakeTelegramBase:
    """State, lifecycle, scripting and dispatch; the concerns add the API methods."""

    def __init__(self, token: str | None = None, chat_id: str | None = None, *, forum: bool = False) -> None:
        self.token = token or f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"
        self.forum = forum
        self.chat_id = str(chat_id) if chat_id is not None else (FORUM_CHAT_ID if forum else PRIVATE_CHAT_ID)
        self.chat_title = "Sohbet support"
        self.calls: list[Call] = []
        self.hang_seconds = 3.0
        self.deleted_topic_error = THREAD_NOT_FOUND
        self.strict_photos = True  # sendPhoto refuses bytes PIL cannot open, as Telegram does
        self._scripts: list[Script] = []
        self._next_message_id = 100
        self._next_update_id = 700_000_000 + secrets.randbelow(1000) * 1000
        self._next_file_number = 0
        self._next_user_id = 900_000_000
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self._clear_state()

    def _clear_state(self) -> None:
        # under the lock (or in __init__)
        self.messages: dict[int, dict[str, Any]] = {}
        self._sent_ids: list[int] = []
        self.deleted_messages: set[int] = set()
        self.topics: dict[int, Topic] = {}
        self.updates: dict[int, dict[str, Any]] = {}  # every update ever pushed, by update_id
        self._pending: list[Pending] = []
        self._allowed_updates: list[str] | None = None
        self.polls: list[Poll] = []
        self.poll_conflicts = 0
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self.downloads: list[Download] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.reactions: dict[int, list[dict[str, Any]]] = {}
        self.other_chats: dict[int, dict[str, Any]] = {}
        self.errors: list[str] = []  # tracebacks of the fake's own failures (answered 500)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, token: str | None = None) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": token or self.token,
            "TELEGRAM_CHAT_ID": self.chat_id,
            "TELEGRAM_API_BASE": self.api_base,
        }

    def start(self) -> Self:
        fake = self

        class Handler(FakeHandler):
            pass

        Handler.fake = fake
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._server = server
        self.port = server.server_address[1]
        return self

    def stop(self) -> None:
        with self._changed:
            for poll in self.polls:
                if poll.ended is None:
                    poll.aborted = True
            self._changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def down(self) -> None:
        """Stop listening: every call is refused, as when Telegram is unreachable."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self.start()

    def fail_next(
        self,
        count: int,
        status: int,
        retry_after: int | None = None,
        method: str | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `count` calls (of `method` only, when given) with `status`: 429 carries
        `retry_after` (default 1); others say `description` (default "Internal Server Error")."""
        with self._lock:
            self._scripts.append(Script(count, status, retry_after, method=method, description=description))

    def hang_next(self, count: int, method: str | None = None) -> None:
        """Sleep `hang_seconds` on the next `count` calls (of `method` only, when given), then answer 504."""
        with self._lock:
            self._scripts.append(Script(count, 504, hang=True, method=method))

    def answer_late(self, count: int, method: str, seconds: float) -> None:
        """Handle the next `count` calls of `method` normally (their result is visible to tests at once) but
        answer them `seconds` later, as a slow network between Telegram and the app would."""
        with self._lock:
            self._scripts.append(Script(count, 200, method=method, answer_delay=seconds))

    def reset(self) -> None:
        """Forget calls, scripts, updates, topics, webhook, files, messages, poll stats. Keeps the token, the chat
        configuration, `hang_seconds`, and the id counters (update and message ids keep increasing)."""
        with self._changed:
            self._scripts.clear()
            self.calls.clear()
            running = [poll for poll in self.polls if poll.ended is None]
            self._clear_state()
            self.polls.extend(running)  # a poll waiting right now still counts for overlap checks
            self.deleted_topic_error = THREAD_NOT_FOUND
            self.strict_photos = True

    def _take_script(self, method: str) -> Script | None:
        with self._lock:
            self._scripts = [script for script in self._scripts if script.count > 0]
            for script in self._scripts:
                if script.method is None and method == "download":
                    continue
                if script.method is None or script.method == method:
                    script.count -= 1
                    return script
            return None

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def login_codes(self) -> list[str]:
        """The Sohbet login codes the bot delivered, oldest first."""
        return [m.group(1) for text in self.sent_texts() for m in re.finditer(r"Sohbet login code: (\d{6})", text)]

    def sent_texts(self) -> list[str]:
        """The text of every message actually delivered (answered 200), in order."""
        return [str(call.params.get("text", "")) for call in self.calls_to("sendMessage") if call.status == 200]

    def sent(self, method: str | None = None, *, thread_id: int | None = None) -> list[Call]:
        """The successful send calls (sendMessage/Photo/Audio/Voice/Document, or only `method`), in order;
        `call.result` is the Message. With `thread_id`, only those that landed in that topic."""
        with self._lock:
            calls = [
                call
                for call in self.calls
                if call.status == 200 and (call.method == method if method else call.method in SEND_METHODS)
            ]
        if thread_id is not None:
            calls = [call for call in calls if (call.result or {}).get("message_thread_id") == thread_id]
        return calls

    def captions(self) -> list[str]:
        """The caption of every media message delivered, in order ("" for one without a caption)."""
        return [str(call.params.get("caption") or "") for call in self.sent() if call.method in MEDIA_METHODS]

    def sent_message(self, message_id: int) -> dict[str, Any] | None:
        """A message the bot sent (the Message object it got back), or None."""
        with self._lock:
            return self.messages.get(message_id) if message_id in self._sent_ids else None

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            return self.files[file_id].data

    @property
    def max_concurrent_polls(self) -> int:
        """The most getUpdates calls that were ever in progress at once (1 for a well-behaved single poller)."""
        with self._lock:
            events: list[tuple[float, int]] = []
            for poll in self.polls:
                events.append((poll.started, 1))
                events.append((poll.ended if poll.ended is not None else float("inf"), -1))
        events.sort()  # at equal times an end (-1) sorts before a start (+1)
        best = current = 0
        for _, delta in events:
            current += delta
            best = max(best, current)
        return best

    def pending_update_ids(self) -> list[int]:
        with self._lock:
            return sorted(entry.update_id for entry in self._pending)

    def chat(self) -> dict[str, Any]:
        """The admin chat as it appears in messages."""
        if self.forum:
            return {"id": int(self.chat_id), "title": self.chat_title, "is_forum": True, "type": "supergroup"}
        return {"id": int(self.chat_id), "type": "private", "first_name": "Admin"}

    @property
    def admin_user(self) -> dict[str, Any]:
        user_id = FORUM_ADMIN_ID if self.forum else int(self.chat_id)
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": "Admin",
            "username": "sohbet_admin",
            "language_code": "en",
        }

    def _chat_for(self, chat_id: int | str | None) -> dict[str, Any]:
        if chat_id is None or str(chat_id) == self.chat_id:
            return self.chat()
        number = int(chat_id)
        with self._lock:
            if number not in self.other_chats:
                if number > 0:
                    self.other_chats[number] = {"id": number, "type": "private", "first_name": "Stranger"}
                else:
                    self.other_chats[number] = {"id": number, "title": "Some group", "type": "group"}
            return self.other_chats[number]

    def _bot(self) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Sohbet test bot",
            "username": "sohbet_test_bot",
        }

    def _user_for_chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        if chat["type"] == "private":
            return {"id": chat["id"], "is_bot": False, "first_name": chat.get("first_name", "Stranger")}
        return {"id": 900_000_001, "is_bot": False, "first_name": "Stranger"}

    def handle(self, call: Call) -> tuple[int, dict[str, Any]]:
        if not call.token_ok:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        script = self._take_script(call.method)
        if script is not None and script.answer_delay > 0:
            call.answer_delay = script.answer_delay
        elif script is not None:
            return self._scripted(script)
        name = API_METHODS.get(call.method)
        if name is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            result = getattr(self, name)(call)
        except ApiError as exc:
            return exc.status, exc.answer()
        if isinstance(result, Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    def _scripted(self, script: Script) -> tuple[int, dict[str, Any]]:
        if script.hang:
            time.sleep(self.hang_seconds)
            return 504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
        if script.status == 429:
            retry_after = script.retry_after or 1
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": script.description or f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
        description = script.description or "Internal Server Error"
        return script.status, {"ok": False, "error_code": script.status, "description": description}

    def _check_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if str(chat_id) == self.chat_id:
            return self.chat()
        with self._lock:  # a private chat whose user wrote to the bot (e.g. /start) can be written to, as on Telegram
            for number, chat in self.other_chats.items():
                if str(number) == str(chat_id) and chat["type"] == "private":
                    return dict(chat)
        raise bad_request("chat not found")

    def _api_get_me(self, call: Call) -> Any:
        return {**self._bot(), "can_join_groups": True, "can_read_all_group_messages": False}

    def _api_get_chat(self, call: Call) -> Any:
        chat_id = call.params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if str(chat_id) == self.chat_id:
            chat = self.chat()
        else:
            try:
                number = int(str(chat_id))
            except ValueError:
                raise bad_request("chat not found") from None
            with self._lock:
                if number not in self.other_chats:
                    raise bad_request("chat not found")
                chat = dict(self.other_chats[number])
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    def _new_message(
        self,
        *,
        sender: dict[str, Any],
        chat: dict[str, Any],
        body: dict[str, Any],
        topic: Topic | None = None,
        reply: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            self._next_message_id += 1
            message: dict[str, Any] = {"message_id": self._next_message_id}
            if topic is not None:
                message["message_thread_id"] = topic.thread_id
            message.update({"from": sender, "chat": chat, "date": int(time.time())})
            if topic is not None:
                message["is_topic_message"] = True
            replied = reply if reply is not None else (topic.created_message if topic is not None else None)
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
            message.update(body)
            self.messages[message["message_id"]] = message
            return message
