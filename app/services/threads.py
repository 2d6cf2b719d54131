"""The conversation list, a page at a time (newest activity first), with each conversation's message count.

Keyset paging: a page ends with a cursor (its last conversation's activity time and id), and the next page is
everything strictly before it in (last_activity_at, id) order. Unlike an offset, a cursor never repeats or
skips a conversation because new ones arrived at the top meanwhile. The count (agents' notes left out, as the
message list of the JSON API does) is a subquery of the one list query (the message index on `conversation` answers
it), not a query per conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.clock import now
from app.models import Conversation
from app.services import labels
from app.services.mail import MailOutbox
from app.services.presence import conversation_subject
from app.services.read_marks import READ_MARK_JOIN, UNREAD_SQL
from app.services.status import view_counts
from app.services.visitor_names import visitor_label

if TYPE_CHECKING:  # conversations.py imports this module
    from app.services.conversations import ConversationService, ThreadView
    from app.services.presence import PresenceTracker
    from app.services.status import ThreadFilter
    from app.services.telegram.outbox import TelegramOutbox

THREADS_PAGE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR = re.compile(r"(\d{1,17})_(\d{1,18})")

PAGE_SQL = (
    "SELECT c.*, (SELECT COUNT(*) FROM message m WHERE m.conversation = c.id AND m.sender <> 'note') AS message_count"
    "{unread} "
    "FROM conversation c{join} {where} ORDER BY c.last_activity_at DESC, c.id DESC LIMIT {{}}"
)
BEFORE = "c.last_activity_at < {} OR (c.last_activity_at = {} AND c.id < {})"


@dataclass(frozen=True, slots=True)
class ThreadCursor:
    """Where a page of the list ended: `<microseconds since 1970>_<conversation id>` in URLs."""

    last_activity_at: datetime
    id: int

    def __str__(self) -> str:
        return f"{(self.last_activity_at - EPOCH) // timedelta(microseconds=1)}_{self.id}"

    @classmethod
    def parse(cls, value: str) -> ThreadCursor:
        """ValueError unless `value` is a cursor this module made (its shape; any position is allowed)."""
        match = CURSOR.fullmatch(value)
        if match is None:
            raise ValueError("not a conversation-list cursor")
        return cls(EPOCH + timedelta(microseconds=int(match.group(1))), int(match.group(2)))


async def page_rows(
    before: ThreadCursor | None, limit: int, view: ThreadFilter | None = None, reader: str | None = None
) -> tuple[list[dict[str, Any]], ThreadCursor | None]:
    """Up to `limit` conversation rows (with `message_count`, and with `reader` (a username) their unread count as
    `reader_unread`) before `before` that `view` matches (None: all), and the cursor of the next page (None on
    the last one)."""
    joined: list[Any] = [reader] if reader is not None else []
    conditions, values = view.sql(now()) if view is not None else ([], [])
    values = joined + values
    if before is not None:
        at = before.last_activity_at
        conditions.append(f"({BEFORE})")
        values += [at, at, before.id]
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    unread, join = (f", {UNREAD_SQL} AS reader_unread", f" {READ_MARK_JOIN}") if reader is not None else ("", "")
    query = PAGE_SQL.format(where=where, unread=unread, join=join)
    rows = list(await Conversation.raw(query, *values, limit + 1))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], ThreadCursor(last["last_activity_at"], last["id"])


@dataclass(frozen=True, slots=True)
class ThreadsPage:
    """A page of the admin's conversation list, as the dashboard and GET /api/threads show it."""

    threads: list[ThreadView]
    next_before: str | None  # the cursor of the next page
    total_unread: int
    telegram_backlog: dict[str, Any] | None  # None without Telegram
    open_thread: ThreadView | None = None  # the conversation open beside the list, as the list shows it
    counts: dict[str, dict[str, int]] | None = None  # with a view: how many each view holds ({view: {status: n}})
    mail_failing: int = 0  # mails waiting after a failed try (SPEC §9: shown while failing)


async def threads_page(
    conversations: ConversationService,
    presence: PresenceTracker,
    outbox: TelegramOutbox | None,
    before: str | None = None,
    limit: int = THREADS_PAGE,
    *,
    lang: str,
    open_id: int | None = None,
    view: ThreadFilter | None = None,
    reader: str | None = None,
    mail: MailOutbox | None = None,
) -> ThreadsPage:
    """The newest page of the list, or the one after `before` (a cursor from the previous page: ValueError
    when it is not one), each conversation marked online or not and named for a reader in `lang`. With `open_id`,
    also that conversation (on this page or not): the dashboard's header shows its presence from the same reading
    as the list's dot, so the two never disagree. With `view`, only the conversations it matches are listed.
    With `reader` (a username), unread counts are that agent's."""
    cursor = ThreadCursor.parse(before) if before else None
    threads, next_page = await conversations.threads(cursor, limit, view, reader)
    opened = next((t for t in threads if t.id == open_id), None)
    if opened is None and open_id is not None:
        opened = await conversations.get(open_id)
    listed = threads if opened is None else [*threads, opened]
    online = await presence.online_subjects([conversation_subject(t.id) for t in listed])
    labelled = await labels.for_conversations(t.id for t in listed)

    def shown(thread: ThreadView) -> ThreadView:
        subject = conversation_subject(thread.id)
        name = visitor_label(thread.display_name, thread.id, lang)
        found = tuple(labelled.get(thread.id, ()))
        return replace(thread, online=subject in online, display_name=name, labels=found)

    return ThreadsPage(
        threads=[shown(t) for t in threads],
        next_before=str(next_page) if next_page else None,
        total_unread=await conversations.total_unread(reader),
        telegram_backlog=await outbox.backlog() if outbox is not None else None,
        open_thread=shown(opened) if opened is not None else None,
        counts=await view_counts(view.me) if view is not None else None,
        mail_failing=await mail.failing() if mail is not None else 0,
    )
