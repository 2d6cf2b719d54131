"""A fake Telegram Bot API on loopback, for the app's httpx client pointed at it with TELEGRAM_API_BASE.

It is a real HTTP server, not a mock: the app posts to `/bot<token>/<method>` exactly as it would to
api.telegram.org, and it answers the way Telegram does (`{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ...}`), with Telegram's error texts. Parameters may come as JSON,
urlencoded or multipart bodies (or a GET query string); a wrong token gets Telegram's 401 `Unauthorized`, an unknown
method 404 `Not Found`. Everything is guarded by one lock, and every call is recorded in `calls`.

The admin chat: `FakeTelegram(chat_id=...)` is a private chat ("424242") or, with `forum=True`, a supergroup with
topics ("-1001234567890" unless given). Only that chat, and the private chat of a user who wrote to the bot
(`stranger_message`), can be written to ("Bad Request: chat not found").

Methods:
- `getMe`, `getChat`.
- `sendMessage`, `sendPhoto`, `sendAudio`, `sendVoice`, `sendDocument`: text ≤ 4096 and caption ≤ 1024 UTF-16 code
  units; `message_thread_id` (forum topics only), `reply_parameters` / `reply_to_message_id` (the replied message
  must exist unless `allow_sending_without_reply`). The media part is a multipart upload (recorded in
  `Call.files`), a file_id, an `attach://<part>` or an http(s) URL (fetched). sendPhoto checks the bytes are an
  image ("Bad Request: IMAGE_PROCESS_FAILED"). Results are full Message objects, also kept in `messages`. A
  message in a topic carries message_thread_id, is_topic_message and (unless it replies to something else) the
  topic's creation message as reply_to_message; a reply to a topic message lands in that topic. Closed topics still
  take the bot's messages (it is an admin); deleted ones answer `deleted_topic_error`.
- `createForumTopic`, `editForumTopic`, `closeForumTopic`, `reopenForumTopic`, `deleteForumTopic`.
- `getUpdates` (offset confirms, limit, long-poll `timeout` ≤ 50 s, `allowed_updates`; 409 while a webhook is set;
  a second poll terminates a waiting one with 409), `setWebhook`, `deleteWebhook`, `getWebhookInfo`.
- `getFile`, and downloads at `GET /file/bot<token>/<file_path>` (recorded in `downloads`).
- `setMyCommands`, `getMyCommands`, `deleteMyCommands`, `deleteMessage`, `setMessageReaction`.

Test-side helpers:
- Scripting: `fail_next(n, 429, retry_after=1)`, `fail_next(n, 500, method="sendPhoto")`, `hang_next(n)` (sleep
  `hang_seconds`, longer than the client's timeout, then answer 504 — nothing happens), `down()` (connection
  refused; a waiting long poll is dropped without an answer), `up()` (back on the same port). `method=None` scripts
  apply to any Bot API call, including getUpdates; `method="download"` scripts apply to file downloads only.
- Looking: `calls` (each `Call` has method, params, status, result, description, files {part: (filename,
  content type, bytes)}, client, at), `calls_to(method)`, `sent_texts()`, `sent(method=None, thread_id=None)`,
  `captions()`, `sent_message(id)`, `messages`, `topics`, `polls`, `poll_conflicts`, `max_concurrent_polls`,
  `pending_update_ids()`, `downloads`, `webhook`, `webhook_deliveries`, `files`, `commands`, `reactions`,
  `deleted_messages`, `errors`.
- Incoming: `push_update(update)`, `redeliver(update_id)`, `admin_message(...)`, `stranger_message(...)`,
  `edited_message(...)`, `callback_query(...)`, `deliver_webhook(update)`, `flush_webhook()`. Pushed updates are
  never POSTed to a webhook on their own: a test calls `deliver_webhook`/`flush_webhook` (setWebhook accepts
  http:// URLs, unlike Telegram, so loopback servers can be the target).
- Topics and files: `create_topic(name)`, `delete_topic(thread_id)`, `close_topic(thread_id)`,
  `deleted_topic_error`, `add_file(data)`, `file_bytes(file_id)`, `strict_photos` (False: sendPhoto takes any
  bytes).
- `reset()` forgets everything but the token and chat configuration (and `hang_seconds`).

The package: protocol.py (limits, records, errors), base.py (state, lifecycle, scripting, dispatch),
server.py (HTTP), files.py, messages.py, topics.py, updates.py, webhook.py (the Bot API by concern).
"""

from __future__ import annotations

from tests.fakes.telegram.messages import Messages
from tests.fakes.telegram.topics import Topics
from tests.fakes.telegram.webhook import Webhooks

__all__ = ["FakeTelegram"]


class FakeTelegram(Webhooks, Messages, Topics):
    """A fake Telegram Bot API: `FakeTelegram(...).start()`, then point the app at `env()`."""
