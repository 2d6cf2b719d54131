"""Conversation status and assignment (SPEC §8): open, snoozed (until a time) or resolved; an assignee (an agent's
username) or none; the dashboard's views (mine / unassigned / all × status); round robin for new conversations.

A snooze ends by itself at read time: its end (`snoozed_until`, epoch seconds) is stored with it and every reader
computes the status — a snooze whose end has passed *is* open, in the list's SQL filter (the same clause on both
databases) and in each ThreadView. So what anyone reads is right to the second, whatever runs or not. Only the
*live* refresh needs a nudge: SnoozeAlarm, a background worker in every process, rewrites ended snoozes as open
every few seconds with one UPDATE … RETURNING and announces a `thread` event for each row it changed. With several
processes each row is returned to exactly one of them (the row lock; the loser's WHERE no longer matches), so each
wake-up is announced once. A visitor message writes `open` in the message's own transaction
(app/services/conversations.py: `_post`); a status change here writes the row and announces a `thread` event, which
refreshes every dashboard's list.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from app.clock import now
from app.models import Agent, Conversation, KeyValue
from app.services import labels, ratings
from app.services.background import BackgroundLoop
from app.services.presence import PresenceTracker
from app.services.realtime import Broker, Event, publish_now

log = logging.getLogger("sohbet.status")

STATUSES = ("open", "snoozed", "resolved")
VIEWS = ("all", "mine", "unassigned")
ANY_STATUS = "any"  # not a choice of the dashboard: the JSON API's list without `status`
ASSIGNMENT_MODES = ("manual", "round_robin")
DURATION = re.compile(r"(\d{1,5})\s*([mhdw])")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SNOOZE = 366 * 86400.0
ROUND_ROBIN_KEY = "assignment:round_robin:last"  # the username the last round-robin conversation went to


class StatusRefused(ValueError):
    """Bad input, nothing changed. `code`: the i18n key after `error.` (every entry shows it with 422)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_until(value: str, moment: float) -> float:
    """When a snooze ends (epoch seconds): a duration from `moment` (`30m`, `2h`, `1d`, `1w`) or an ISO 8601 time
    (without a UTC offset: UTC). It must be in the future and within a year."""
    text = value.strip().lower()
    match = DURATION.fullmatch(text)
    if match is not None:
        until = moment + int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    else:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise StatusRefused("snooze_until") from None
        until = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    if not moment < until <= moment + MAX_SNOOZE:
        raise StatusRefused("snooze_until")
    return until


def effective_status(status: str, snoozed_until: float | None, moment: float) -> str:
    """What a stored status means at `moment`: a snooze that has run out is open."""
    if status == "snoozed" and (snoozed_until is None or snoozed_until <= moment):
        return "open"
    return status if status in STATUSES else "open"


def status_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A conversation row's status, snooze end and assignee, as a ThreadView carries them (read now)."""
    until = row.get("snoozed_until")
    status = effective_status(row.get("status") or "open", until, now())
    return {
        "status": status,
        "snoozed_until": datetime.fromtimestamp(until, UTC) if status == "snoozed" and until else None,
        "assignee": row.get("assignee"),
    }


@dataclass(frozen=True, slots=True)
class ThreadFilter:
    """A dashboard view: whose (`all`, `mine`, `unassigned`) and which status. `me`: the reader's username."""

    view: str = "all"
    status: str = "open"  # or ANY_STATUS (the JSON API without `status`)
    me: str = ""
    label: str = ""  # only conversations with this label (app/services/labels.py); "": any

    @classmethod
    def parse(cls, view: str | None, status: str | None, me: str, label: str | None = None) -> ThreadFilter:
        """StatusRefused (`bad_view`, `bad_status`, `label.bad`) for a value that is not one of the lists or not a
        label; None: the default."""
        view, status = view or "all", status or "open"
        if view not in VIEWS:
            raise StatusRefused("bad_view")
        if status not in STATUSES:
            raise StatusRefused("bad_status")
        try:
            cleaned = labels.clean(label) if label else ""
        except labels.LabelRefused as refused:
            raise StatusRefused(refused.code) from None
        return cls(view, status, me, cleaned)

    def sql(self, moment: float) -> tuple[list[str], list[Any]]:
        """WHERE conditions on `conversation c` (Piccolo `{}` placeholders) and their values."""
        conditions: list[str] = []
        values: list[Any] = []
        if self.label:
            conditions.append(labels.FILTER_SQL)
            values.append(self.label)
        if self.status == ANY_STATUS:
            pass
        elif self.status == "open":
            conditions.append("(c.status = 'open' OR (c.status = 'snoozed' AND c.snoozed_until <= {}))")
            values.append(moment)
        elif self.status == "snoozed":
            conditions.append("(c.status = 'snoozed' AND c.snoozed_until > {})")
            values.append(moment)
        else:
            conditions.append("c.status = 'resolved'")
        if self.view == "mine":
            conditions.append("c.assignee = {}")
            values.append(self.me)
        elif self.view == "unassigned":
            conditions.append("c.assignee IS NULL")
        return conditions, values

    def query(self) -> str:
        """This view as a query string for links (the list's refresh keeps it)."""
        return f"view={self.view}&status={self.status}" + (f"&label={quote(self.label)}" if self.label else "")


COUNTS_SQL = (
    "SELECT CASE WHEN c.status = 'snoozed' AND c.snoozed_until <= {} THEN 'open' ELSE c.status END AS shown, "
    "COUNT(*) AS every, SUM(CASE WHEN c.assignee = {} THEN 1 ELSE 0 END) AS mine, "
    "SUM(CASE WHEN c.assignee IS NULL THEN 1 ELSE 0 END) AS unassigned FROM conversation c GROUP BY 1"
)


async def view_counts(me: str) -> dict[str, dict[str, int]]:
    """How many conversations each view holds: {view: {status: count}}, in one query (the tabs' numbers)."""
    counts = {view: dict.fromkeys(STATUSES, 0) for view in VIEWS}
    for row in await Conversation.raw(COUNTS_SQL, now(), me):
        if row["shown"] in STATUSES:
            shown = row["shown"]
            counts["all"][shown] = int(row["every"] or 0)
            counts["mine"][shown] = int(row["mine"] or 0)
            counts["unassigned"][shown] = int(row["unassigned"] or 0)
    return counts


class Triage:
    """Changing a conversation's status and assignee; choosing the assignee of a new conversation."""

    def __init__(self, engine: Any, broker: Broker, presence: PresenceTracker, mode: str = "manual") -> None:
        if mode not in ASSIGNMENT_MODES:
            raise ValueError(mode)
        self._engine = engine
        self._broker = broker
        self._presence = presence
        self.mode = mode

    async def set_status(
        self, conversation_id: int, status: str, until: str | None = None, by: str | None = None
    ) -> bool:
        """Open, resolve, or snooze until `until` (required for a snooze, refused otherwise). A resolution is
        recorded with `by` (the agent's username) in the same transaction (app/services/ratings.py). False: no such
        conversation. Raises StatusRefused (`bad_status`, `snooze_until`)."""
        if status not in STATUSES:
            raise StatusRefused("bad_status")
        if status == "snoozed":
            snoozed_until: float | None = parse_until(until or "", now())
        elif until:
            raise StatusRefused("snooze_until")
        else:
            snoozed_until = None
        if status == "resolved":
            if await ratings.resolve(self._engine, conversation_id, by):
                await publish_now(self._broker, [Event("thread", conversation_id)])
                return True
            return False
        changes = {Conversation.status: status, Conversation.snoozed_until: snoozed_until}
        return await self._change(conversation_id, changes)

    async def assign(self, conversation_id: int, agent: str, me: str) -> bool:
        """Give the conversation to `agent` (a username, `me` for `me`, "" for nobody). False: no such
        conversation. Raises StatusRefused (`unknown_agent`) for an agent who does not exist or is disabled."""
        username = me if agent.strip() == "me" else agent.strip().lower()
        if username:
            found = await Agent.exists().where((Agent.username == username) & (Agent.disabled == False))  # noqa: E712
            if not found:
                raise StatusRefused("unknown_agent")
        return await self._change(conversation_id, {Conversation.assignee: username or None})

    async def _change(self, conversation_id: int, changes: dict[Any, Any]) -> bool:
        updated = (
            await Conversation.update(changes).where(Conversation.id == conversation_id).returning(Conversation.id)
        )
        if updated:
            await publish_now(self._broker, [Event("thread", conversation_id)])
        return bool(updated)

    async def assignee_for_new(self) -> str | None:
        """Round robin: the online (dashboard open), available (not away), enabled agent after the one who got
        the last new conversation (by username, wrapping around); None in manual mode or when no agent is.
        Called inside the transaction that inserts the conversation: on PostgreSQL the UPDATE below locks the
        marker row, so two conversations starting at once go to two agents."""
        if self.mode != "round_robin":
            return None
        candidates = await self._presence.available_agents()
        if not candidates:
            return None
        marker = (
            await KeyValue.update({KeyValue.expires_at: None})
            .where(KeyValue.key == ROUND_ROBIN_KEY)
            .returning(KeyValue.value)
        )
        last = bytes(marker[0]["value"]).decode() if marker else ""
        chosen = next((name for name in candidates if name > last), candidates[0])
        if marker:
            await KeyValue.update({KeyValue.value: chosen.encode()}).where(KeyValue.key == ROUND_ROBIN_KEY)
        else:
            await KeyValue.insert(KeyValue(key=ROUND_ROBIN_KEY, value=chosen.encode(), expires_at=None))
        return chosen


class SnoozeAlarm(BackgroundLoop):
    """Rewrites snoozes that have ended as open and announces them, so open dashboards list them again."""

    loop_name = "snoozes"
    round_failed_event = "snoozes.wake_failed"

    def __init__(self, broker: Broker, interval_seconds: float = 5.0) -> None:
        super().__init__()
        self._broker = broker
        self.IDLE_SECONDS = interval_seconds

    async def wake_due(self) -> list[int]:
        """The conversations whose snooze had ended, now open (announced)."""
        ended = (Conversation.status == "snoozed") & (Conversation.snoozed_until <= now())
        rows = await (
            Conversation.update({Conversation.status: "open", Conversation.snoozed_until: None})
            .where(ended)
            .returning(Conversation.id)
        )
        ids = sorted(row["id"] for row in rows)
        if ids:
            await publish_now(self._broker, [Event("thread", conversation_id) for conversation_id in ids])
        return ids

    async def one_round(self) -> float:
        await self.wake_due()
        return self.IDLE_SECONDS
