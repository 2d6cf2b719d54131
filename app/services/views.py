"""What the conversation service answers with: a message (with its file and author), a conversation, a catch-up.
Read-only values, the same for every reader (pages, streams, the JSON API, Telegram)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AttachmentView:
    public_id: str
    kind: str
    content_type: str
    width: int | None
    height: int | None
    file_name: str
    url: str


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    conversation_id: int
    seq: int
    sender: str
    text: str
    created_at: datetime
    attachment: AttachmentView | None = None
    replayed: bool = False  # post(): an earlier post with the same client id, returned instead of a new one
    author: str | None = None  # the agent's username (admin messages from the dashboard or the API)
    author_name: str = ""  # that agent's display name now ("" shows as "Support")
    new_author: bool = False  # the previous message has another writer (sender or agent): a new group of bubbles


@dataclass(frozen=True, slots=True)
class ThreadView:
    id: int
    display_name: str
    last_activity_at: datetime
    last_seq: int
    cleared_seq: int
    unread_count: int
    preview: str
    last_sender: str
    ended: bool
    online: bool = False
    source_url: str | None = None  # the host page of an embedded chat (validated http(s) URL)
    source_referrer: str | None = None  # that page's referrer
    created_at: datetime | None = None
    message_count: int = 0  # filled by threads() only
    status: str = "open"  # open | snoozed | resolved, as of reading (a snooze that ran out reads as open)
    snoozed_until: datetime | None = None  # while snoozed
    assignee: str | None = None  # the agent's username
    email: str | None = None  # the visitor's address for replies by email (decrypted), SPEC §9
    labels: tuple[str, ...] = ()  # filled by threads_page() only (app/services/labels.py)


@dataclass(frozen=True, slots=True)
class Catchup:
    """What a stream that has sent up to `after` still owes its client."""

    exists: bool
    cleared_seq: int  # > after: the client must empty its list first
    messages: list[MessageView]
