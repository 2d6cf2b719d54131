"""A real SMTP server on loopback (aiosmtpd, in its own thread), for the mail tests.

It speaks SMTP exactly as a provider's server would; every accepted mail is recorded in `messages` (parsed with the
standard library) with its raw bytes in `raw`. `refuse(550)` answers every DATA with a permanent error (or only mail
whose subject contains `when`), `fail(451, times=n)` with a temporary one n times, `hang()` accepts the connection
and then never answers DATA (until `release()`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class _Rule:
    code: int
    text: str
    times: int | None  # None: always
    when: str = ""  # only mail whose raw bytes contain this


@dataclass
class FakeSmtp:
    host: str = "127.0.0.1"
    raw: list[bytes] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    _hang: threading.Event = field(default_factory=threading.Event)
    _hanging: bool = False

    def start(self) -> FakeSmtp:
        from tests.support import free_port

        self.port = free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return [BytesParser(policy=policy.default).parsebytes(raw) for raw in list(self.raw)]  # type: ignore[misc]

    def refuse(self, code: int = 550, text: str = "5.7.1 Message refused", when: str = "") -> None:
        self.rules.append(_Rule(code, text, None, when))

    def fail(self, code: int = 451, text: str = "4.3.0 Try again later", times: int = 1) -> None:
        self.rules.append(_Rule(code, text, times))

    def hang(self) -> None:
        self._hanging = True
        self._hang.clear()

    def release(self) -> None:
        self._hanging = False
        self._hang.set()

    def clear(self) -> None:
        self.rules.clear()
        self.release()

    # -- aiosmtpd handler ------------------------------------------------------------------------------

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._hanging:
            import asyncio

            while not self._hang.is_set():
                await asyncio.sleep(0.05)
        data: bytes = envelope.content
        for rule in list(self.rules):
            if rule.when and rule.when.encode() not in data:
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
            return f"{rule.code} {rule.text}"
        self.raw.append(data)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"
