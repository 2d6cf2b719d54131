"""Messages the bot sends to the admin chat (text and media, in topics, as replies), deletes and reacts to,
and the bot's command menu."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.fakes.telegram.files import Files
from tests.fakes.telegram.protocol import (
    CAPTION_LIMIT,
    COMMAND_RE,
    MEDIA_METHODS,
    TEXT_LIMIT,
    THREAD_NOT_FOUND,
    ApiError,
    Call,
    Topic,
    bad_request,
    param_bool,
    param_int,
    param_json,
    param_str,
    utf16_len,
)


class Messages(Files):
    """sendMessage and the media sends, deleteMessage, setMessageReaction, the commands."""

    def _topic_for_send(self, params: dict[str, Any]) -> Topic | None:
        # under the lock
        thread_id = param_int(params, "message_thread_id")
        if thread_id is None:
            return None
        topic = self.topics.get(thread_id) if self.forum else None
        if topic is None:
            raise ApiError(400, THREAD_NOT_FOUND)
        if topic.deleted:
            raise ApiError(400, self.deleted_topic_error)
        return topic

    def _reply_for_send(self, params: dict[str, Any]) -> dict[str, Any] | None:
        # under the lock
        reply_parameters = param_json(params, "reply_parameters", "reply parameters")
        allow_without = param_bool(params, "allow_sending_without_reply")
        if reply_parameters is not None:
            if not isinstance(reply_parameters, dict) or "message_id" not in reply_parameters:
                raise bad_request("can't parse reply parameters JSON object")
            message_id = param_int(reply_parameters, "message_id")
            allow_without = allow_without or param_bool(reply_parameters, "allow_sending_without_reply")
        else:
            message_id = param_int(params, "reply_to_message_id")
        if message_id is None:
            return None
        message = self.messages.get(message_id)
        if message is None or message_id in self.deleted_messages or message["chat"]["id"] != int(self.chat_id):
            if allow_without:
                return None
            raise bad_request("message to be replied not found")
        return message

    def _api_send(self, call: Call) -> Any:
        params = call.params
        kind = MEDIA_METHODS.get(call.method)
        body: dict[str, Any] = {}
        caption: str | None = None
        if kind is None:
            text = param_str(params, "text")
            if not text or not text.strip():
                raise bad_request("message text is empty")
            chat = self._check_chat(params)
            if utf16_len(text) > TEXT_LIMIT:
                raise bad_request("message is too long")
            body["text"] = text
        else:
            chat = self._check_chat(params)
            caption = param_str(params, "caption")
            if caption and utf16_len(caption) > CAPTION_LIMIT:
                raise bad_request("message caption is too long")
        with self._lock:
            topic = self._topic_for_send(params)
            reply = self._reply_for_send(params)
        if kind is not None:
            body[kind] = self._media_for_send(call, kind)
            if caption:
                body["caption"] = caption
        with self._lock:
            if topic is None and reply is not None and reply.get("is_topic_message"):
                topic = self.topics.get(reply.get("message_thread_id", 0))  # a reply lands in its topic
            message = self._new_message(sender=self._bot(), chat=chat, topic=topic, reply=reply, body=body)
            self._sent_ids.append(message["message_id"])
            return copy.deepcopy(message)

    def _api_delete_message(self, call: Call) -> Any:
        self._check_chat(call.params)
        message_id = param_int(call.params, "message_id")
        with self._lock:
            message = self.messages.get(message_id) if message_id is not None else None
            if message is None or message_id in self.deleted_messages or message["chat"]["id"] != int(self.chat_id):
                raise bad_request("message to delete not found")
            self.deleted_messages.add(message_id)  # type: ignore[arg-type]
            return True

    def _api_set_message_reaction(self, call: Call) -> Any:
        self._check_chat(call.params)
        message_id = param_int(call.params, "message_id")
        reaction = param_json(call.params, "reaction", "reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("can't parse reaction JSON object")
        with self._lock:
            message = self.messages.get(message_id) if message_id is not None else None
            if message is None or message_id in self.deleted_messages or message["chat"]["id"] != int(self.chat_id):
                raise bad_request("message to react not found")
            self.reactions[message_id] = reaction  # type: ignore[index]
            return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = param_json(params, "scope", "scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + (param_str(params, "language_code") or "")

    def _api_set_my_commands(self, call: Call) -> Any:
        commands = param_json(call.params, "commands", "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self.commands[self._commands_key(call.params)] = [
                {"command": str(c["command"]), "description": str(c["description"])} for c in commands
            ]
        return True

    def _api_get_my_commands(self, call: Call) -> Any:
        with self._lock:
            return copy.deepcopy(self.commands.get(self._commands_key(call.params), []))

    def _api_delete_my_commands(self, call: Call) -> Any:
        with self._lock:
            self.commands.pop(self._commands_key(call.params), None)
        return True
