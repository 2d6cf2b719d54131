"""The wall clock, as epoch seconds: what every expiry, lease, lockout and presence time is compared with.
One function, so that every module reads time the same way."""

from __future__ import annotations

import time


def now() -> float:
    return time.time()
