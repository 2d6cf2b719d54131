"""Leases: a job that only one server process may run at a time (Telegram polling), decided in the database.

A holder renews its lease before it runs out; a process that dies stops renewing, and another takes over once the
lease has expired. Taking and renewing are one conditional UPDATE each, so two processes can never both win.
"""

from __future__ import annotations

import secrets

from app.clock import now
from app.models import Lease as LeaseRow


class Lease:
    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.holder = secrets.token_hex(8)

    async def acquire(self) -> bool:
        """Take or renew the lease; True while this process holds it."""
        moment = now()
        taken = await (
            LeaseRow.update({LeaseRow.holder: self.holder, LeaseRow.expires_at: moment + self.seconds})
            .where((LeaseRow.name == self.name) & ((LeaseRow.holder == self.holder) | (LeaseRow.expires_at < moment)))
            .returning(LeaseRow.id)
        )
        if taken:
            return True
        if await LeaseRow.exists().where(LeaseRow.name == self.name):
            return False
        try:
            await LeaseRow.insert(LeaseRow(name=self.name, holder=self.holder, expires_at=moment + self.seconds))
        except Exception:  # another process inserted it first (unique name)
            return False
        return True

    async def release(self) -> None:
        await LeaseRow.delete().where((LeaseRow.name == self.name) & (LeaseRow.holder == self.holder))

    async def current_holder(self) -> str | None:
        row = (
            await LeaseRow.select(LeaseRow.holder)
            .where((LeaseRow.name == self.name) & (LeaseRow.expires_at >= now()))
            .first()
        )
        return row["holder"] if row else None
