"""Forum topics in the admin supergroup: created, edited, closed, reopened and deleted through the API or by a test."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram.base import FakeTelegramBase
from tests.fakes.telegram.protocol import (
    TOPIC_COLORS,
    TOPIC_NAME_LIMIT,
    Call,
    Topic,
    bad_request,
    param_int,
    param_str,
)


class Topics(FakeTelegramBase):
    """Forum topics, from the bot's side and the test's."""

    def create_topic(self, name: str, icon_color: int = TOPIC_COLORS[0]) -> Topic:
        """A topic created in the admin forum (as if by the admin in the app). Returns it."""
        with self._lock:
            if not self.forum:
                raise ValueError("the chat is not a forum")
            message = self._new_message(
                sender=self.admin_user,
                chat=self.chat(),
                body={"forum_topic_created": {"name": name, "icon_color": icon_color}},
            )
            thread_id = message["message_id"]
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            topic = Topic(thread_id, name, icon_color, message)
            self.topics[thread_id] = topic
            return topic

    def delete_topic(self, thread_id: int) -> None:
        """The topic is deleted (as if by the admin in the app): sends into it get `deleted_topic_error`."""
        with self._lock:
            self.topics[thread_id].deleted = True

    def close_topic(self, thread_id: int) -> None:
        with self._lock:
            self.topics[thread_id].closed = True

    def _forum_topic(self, params: dict[str, Any]) -> Topic:
        # under the lock
        self._check_chat(params)
        if not self.forum:
            raise bad_request("the chat is not a forum")
        thread_id = param_int(params, "message_thread_id")
        topic = self.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def _api_create_forum_topic(self, call: Call) -> Any:
        params = call.params
        self._check_chat(params)
        if not self.forum:
            raise bad_request("the chat is not a forum")
        name = param_str(params, "name") or ""
        if not 1 <= len(name) <= TOPIC_NAME_LIMIT:
            raise bad_request("TOPIC_NAME_INVALID")
        icon_color = param_int(params, "icon_color") or TOPIC_COLORS[0]
        with self._lock:
            message = self._new_message(
                sender=self._bot(),
                chat=self.chat(),
                body={"forum_topic_created": {"name": name, "icon_color": icon_color}},
            )
            thread_id = message["message_id"]
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            emoji = param_str(params, "icon_custom_emoji_id") or None
            self.topics[thread_id] = Topic(thread_id, name, icon_color, message, icon_custom_emoji_id=emoji)
        result: dict[str, Any] = {"message_thread_id": thread_id, "name": name, "icon_color": icon_color}
        if emoji:
            result["icon_custom_emoji_id"] = emoji
        return result

    def _api_edit_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            name = param_str(call.params, "name") or ""
            if len(name) > TOPIC_NAME_LIMIT:
                raise bad_request("TOPIC_NAME_INVALID")
            emoji = param_str(call.params, "icon_custom_emoji_id")
            changed = False
            if name and name != topic.name:
                topic.name, changed = name, True
            if emoji is not None and (emoji or None) != topic.icon_custom_emoji_id:
                topic.icon_custom_emoji_id, changed = emoji or None, True
            if not changed:
                raise bad_request("TOPIC_NOT_MODIFIED")
            return True

    def _api_close_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            if topic.closed:
                raise bad_request("TOPIC_NOT_MODIFIED")
            topic.closed = True
            return True

    def _api_reopen_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            if not topic.closed:
                raise bad_request("TOPIC_NOT_MODIFIED")
            topic.closed = False
            return True

    def _api_delete_forum_topic(self, call: Call) -> Any:
        with self._lock:
            topic = self._forum_topic(call.params)
            topic.deleted = True
            return True
