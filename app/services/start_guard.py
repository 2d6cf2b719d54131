"""Bots without captcha (SPEC §11): the start form carries a honeypot field no person sees and a signed stamp of
when it was shown. A form sent back with the honeypot filled, sooner than START_MIN_SECONDS after it was shown,
or without a valid stamp starts nothing: the visitor gets the form again, with what they typed and a fresh stamp,
so a person only presses the button once more. RATE_LIMIT_START (the route's rate limit) caps the rest."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from app.services.crypto import Signer
from app.services.text import TextError

HONEYPOT = "hp"  # a name no browser autofills
STAMP = "started"
STAMP_MAX_AGE = 86400  # a form left open for a day is shown again


class StartGuard:
    def __init__(self, secret_key: str, min_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self._signer = Signer(secret_key, "start-form")
        self.min_seconds = min_seconds
        self._clock = clock

    def stamp(self) -> str:
        """The start form's hidden `started` value: when it was shown, signed."""
        return self._signer.sign(str(int(self._clock())))

    def check(self, form: Mapping[str, str | None]) -> None:
        """TextError("start_refused") for a filled honeypot, TextError("start_again") for a form sent back too
        soon or with a missing, forged or day-old stamp; nothing when it may start a conversation."""
        if form.get(HONEYPOT):
            raise TextError("start_refused")
        if not self.min_seconds:
            return
        shown = self._signer.unsign(form.get(STAMP))
        age = self._clock() - int(shown) if shown and shown.isdigit() else None
        if age is None or not self.min_seconds <= age <= STAMP_MAX_AGE:
            raise TextError("start_again")
