"""Housekeeping that every server process runs in the background, so nothing grows without `sohbet cleanup`:
Telegram bookkeeping older than 30 days (app/services/telegram/pruning.py), counters past their window and
lockout (app/services/counters.py) and audit log entries older than 180 days (app/services/audit.py). The first
pass runs `FIRST_PASS_SECONDS` after start-up, then one an hour.
Each pass is a few idempotent DELETEs: processes that run them at the same time only repeat work.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from app.clock import now
from app.models.db import write_transaction
from app.services import audit, counters
from app.services.background import BackgroundLoop
from app.services.telegram import pruning

log = logging.getLogger("sohbet.housekeeping")

FIRST_PASS_SECONDS = 5.0
INTERVAL_SECONDS = 3600.0


class Housekeeping(BackgroundLoop):
    loop_name = "housekeeping"

    def __init__(self, engine: Any) -> None:
        super().__init__()
        self._engine = engine

    async def run_once(self) -> dict[str, int]:
        async with write_transaction(self._engine):
            done = await pruning.prune(now() - pruning.KEEP_SECONDS)
            done["audit"] = await audit.prune(now() - audit.KEEP_SECONDS)
        done["counters"] = await counters.purge_expired()
        if any(done.values()):
            log.info(json.dumps({"event": "housekeeping.deleted", **done}))
        return done

    async def run_forever(self) -> None:
        await asyncio.sleep(FIRST_PASS_SECONDS)
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # the database may be away; next round
                log.warning(json.dumps({"event": "housekeeping.failed", "error": type(exc).__name__}))
            await asyncio.sleep(INTERVAL_SECONDS)
