"""The owner's audit log (SPEC §8): who did what, from where, when. One row per login, failed login, team change,
clear and settings change; later exports, erasures and blocks add an ACTIONS entry and call `record`.

Services call `record` inside their own transaction where they have one (the action and its row commit together),
otherwise right after the action. Only safe fields go in: usernames, ids, setting keys, roles, counts. Never
message text, passwords, codes, tokens or setting values. Rows older than KEEP_SECONDS go with the housekeeping
worker (app/services/housekeeping.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.clock import now
from app.models import AuditEvent

KEEP_SECONDS = 180 * 24 * 3600
PAGE_SIZE = 50
SYSTEM = "system"
CLI = "cli"

# Every action the log knows. Add a new one here (exports, erasures, blocks) and call `record` in its service.
ACTIONS = (
    "login.success",
    "login.failed",
    "team.created",
    "team.disabled",
    "team.enabled",
    "team.reset",
    "team.role",
    "team.password_changed",
    "team.invite_accepted",
    "team.telegram_linked",
    "team.telegram_unlinked",
    "conversation.cleared",
    "conversation.cleared_all",
    "conversation.erased",
    "settings.saved",
    "visitor.blocked",
    "visitor.unblocked",
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    created_at: float
    actor: str
    ip: str
    action: str
    target: str
    details: dict[str, Any]

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, UTC)


async def record(action: str, target: str = "", *, actor: str = SYSTEM, ip: str = "", **details: Any) -> None:
    """One row. `details` must hold only safe values (names, ids, keys, counts)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    await AuditEvent.insert(
        AuditEvent(
            created_at=now(),
            actor=(actor or SYSTEM)[:100],
            ip=(ip or "")[:64],
            action=action,
            target=str(target)[:100],
            details=json.dumps(details, sort_keys=True, default=str)[:2000],
        )
    )


def _entry(row: dict[str, Any]) -> AuditEntry:
    try:
        details = json.loads(row["details"] or "{}")
    except ValueError:
        details = {}
    return AuditEntry(
        id=row["id"],
        created_at=float(row["created_at"]),
        actor=row["actor"],
        ip=row["ip"],
        action=row["action"],
        target=row["target"],
        details=details if isinstance(details, dict) else {},
    )


async def entries(before: int | None = None, action: str | None = None, limit: int = PAGE_SIZE) -> list[AuditEntry]:
    """Newest first; `before` an id (the next page), `action` one of ACTIONS."""
    query = AuditEvent.select().order_by(AuditEvent.id, ascending=False).limit(limit)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    if action:
        query = query.where(AuditEvent.action == action)
    return [_entry(row) for row in await query]


async def prune(older_than: float) -> int:
    """Delete rows from before `older_than` (epoch seconds); returns how many."""
    gone = await AuditEvent.delete().where(AuditEvent.created_at < older_than).returning(AuditEvent.id)
    return len(gone)
