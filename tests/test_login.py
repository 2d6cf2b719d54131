"""The login action (app/services/login.py), called in-process with the real AuthService: each refusal's status,
message and Retry-After, and a login that ends the session the browser had."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

import pytest

from app.services import login
from app.services.auth import MAX_CODE_FAILURES, AuthService, hash_password
from app.services.login import LoginRefused
from app.services.login_guard import THRESHOLD
from tests.inprocess import fresh_database

PASSWORD = "correct-horse-battery-staple"
_addresses = itertools.count(1)


@dataclass
class Codes:
    """Where the codes go: kept in a list instead of Telegram."""

    available: bool = True
    sent: list[str] = field(default_factory=list)

    async def send_code(self, username: str, code: str) -> None:
        self.sent.append(code)


def new_ip() -> str:
    """Failures count per address too: each test comes from its own."""
    return f"192.0.2.{next(_addresses)}"


def make_auth(codes: Codes, *, code_seconds: int = 300) -> AuthService:
    return AuthService(
        username="admin",
        password_hash=hash_password(PASSWORD),
        secret_key="test-secret-" + "x" * 40,
        code_sender=codes,
        code_seconds=code_seconds,
        idle_seconds=3600,
        absolute_seconds=86400,
        lockout_seconds=60,
    )


@pytest.fixture(scope="module")
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[None]:
    async with fresh_database(tmp_path_factory.mktemp("login")):
        yield


async def refusal(call: Awaitable[str]) -> LoginRefused:
    with pytest.raises(LoginRefused) as refused:
        await call
    return refused.value


async def test_wrong_password(database: None) -> None:
    codes = Codes()
    refused = await refusal(login.start(make_auth(codes), "admin", "wrong", new_ip()))
    assert (refused.status, refused.message_key, refused.retry_after) == (401, "login.wrong", None)
    assert codes.sent == []


async def test_lockout_after_repeated_failures(database: None) -> None:
    """The account is locked after THRESHOLD failures: then even the right password gets 429 + Retry-After.
    (An unknown username counts like the real one; a name of its own keeps this lock away from other tests.)"""
    auth, ip = make_auth(Codes()), new_ip()
    for _ in range(THRESHOLD):
        assert (await refusal(login.start(auth, "locked-out-user", "wrong", ip))).status == 401
    refused = await refusal(login.start(auth, "locked-out-user", "wrong", ip))
    assert (refused.status, refused.message_key) == (429, "login.locked_out")
    assert refused.retry_after is not None and 0 < refused.retry_after <= 60


async def test_no_way_to_deliver_codes(database: None) -> None:
    refused = await refusal(login.start(make_auth(Codes(available=False)), "admin", PASSWORD, new_ip()))
    assert (refused.status, refused.message_key) == (503, "login.unavailable")


async def test_a_code_that_could_not_be_sent(database: None) -> None:
    class Broken(Codes):
        async def send_code(self, username: str, code: str) -> None:
            raise ConnectionError("Telegram is away")

    refused = await refusal(login.start(make_auth(Broken()), "admin", PASSWORD, new_ip()))
    assert (refused.status, refused.message_key) == (503, "login.code_not_delivered")


async def test_a_wrong_code_then_the_right_one(database: None) -> None:
    codes, ip = Codes(), new_ip()
    auth = make_auth(codes)
    attempt = await login.start(auth, "admin", PASSWORD, ip)
    wrong = "000000" if codes.sent[0] != "000000" else "111111"
    refused = await refusal(login.finish(auth, attempt, wrong, ip, None))
    assert (refused.status, refused.message_key) == (401, "login.code_wrong")
    session = await login.finish(auth, attempt, codes.sent[0], ip, None)
    assert await auth.session_identity(session) is not None
    used = await refusal(login.finish(auth, attempt, codes.sent[0], ip, None))  # single use
    assert (used.status, used.message_key) == (401, "login.code_expired")


async def test_an_expired_or_unknown_attempt(database: None) -> None:
    codes, ip = Codes(), new_ip()
    auth = make_auth(codes, code_seconds=-1)
    attempt = await login.start(auth, "admin", PASSWORD, ip)
    expired = await refusal(login.finish(auth, attempt, codes.sent[0], ip, None))
    assert (expired.status, expired.message_key) == (401, "login.code_expired")
    for token in (None, "not-an-attempt"):
        unknown = await refusal(login.finish(auth, token, codes.sent[0], ip, None))
        assert (unknown.status, unknown.message_key) == (401, "login.code_expired")


async def test_a_code_locked_after_too_many_wrong_tries(database: None) -> None:
    codes, ip = Codes(), new_ip()
    auth = make_auth(codes)
    attempt = await login.start(auth, "admin", PASSWORD, ip)
    wrong = "000000" if codes.sent[0] != "000000" else "111111"
    answers = [await refusal(login.finish(auth, attempt, wrong, ip, None)) for _ in range(MAX_CODE_FAILURES)]
    assert [a.status for a in answers] == [401] * (MAX_CODE_FAILURES - 1) + [429]
    assert answers[-1].message_key == "login.code_locked"
    locked = await refusal(login.finish(auth, attempt, codes.sent[0], ip, None))  # even the right code now
    assert (locked.status, locked.message_key) == (429, "login.code_locked")


async def test_a_login_ends_the_old_session(database: None) -> None:
    codes, ip = Codes(), new_ip()
    auth = make_auth(codes)
    old = await auth.create_session("admin")
    attempt = await login.start(auth, "admin", PASSWORD, ip)
    new = await login.finish(auth, attempt, f" {codes.sent[0]} ", ip, old)
    assert new != old
    assert await auth.session_identity(old) is None
    identity = await auth.session_identity(new)
    assert identity is not None and identity.username == "admin"
