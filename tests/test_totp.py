"""The authenticator second factor (SPEC §8, app/services/totp.py) in-process with the app's own services: set-up,
confirmation, the login code within one step of drift, each code accepted once, wrong codes counted like sent
codes, and the secret stored encrypted."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet

from app.models import Agent
from app.services import login
from app.services.agents import TeamRefused
from app.services.auth import MAX_CODE_FAILURES
from app.services.crypto import Cipher
from app.services.keys import rotate_keys
from app.services.login import LoginRefused
from app.settings import Settings
from app.wiring import Services
from tests.inprocess import bindings_kept, migrate_in_process, running_services
from tests.support import base_env, create_database, drop_database

GOOD = "a long and fine password 7"
_addresses = itertools.count(1)


def new_ip() -> str:
    return f"203.0.113.{next(_addresses)}"


def code_at(secret: str, moment: float) -> str:
    return pyotp.TOTP(secret).at(moment)


def away_from_a_step_edge() -> None:
    """Codes computed now must stay in their step while the test uses them."""
    if time.time() % 30 > 24:
        time.sleep(30 - time.time() % 30 + 0.1)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = create_database(tmp_path)
    try:
        with bindings_kept():
            await migrate_in_process(url)
        async with running_services(Settings.from_env(base_env(tmp_path, url)), workers=False) as running:
            await running.agents.start()
            # As in production for an agent: no channel brings them a code, only their authenticator app.
            running.auth._agent_sender.available = False  # type: ignore[attr-defined]
            yield running
    finally:
        drop_database(url)


async def agent_with_totp(services: Services, username: str = "sam") -> str:
    """An agent with a password and TOTP on; returns the secret."""
    invite = await services.agents.create(username, "Sam", "agent")
    await services.agents.accept_invite(invite.token, GOOD)
    setup = await services.agents.totp_begin(username, "Acme")
    away_from_a_step_edge()
    await services.agents.totp_confirm(username, code_at(setup.secret, time.time()))
    return setup.secret


async def test_set_up_shows_a_qr_code_and_confirming_turns_it_on(services: Services) -> None:
    invite = await services.agents.create("sam", "Sam", "agent")
    await services.agents.accept_invite(invite.token, GOOD)
    setup = await services.agents.totp_begin("sam", "Acme Support")
    assert setup.uri.startswith("otpauth://totp/") and f"secret={setup.secret}" in setup.uri
    assert "issuer=Acme%20Support" in setup.uri and "sam" in setup.uri
    assert setup.qr_svg.startswith("<svg") and "<path" in setup.qr_svg
    away_from_a_step_edge()
    right = code_at(setup.secret, time.time())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(TeamRefused) as refused:
        await services.agents.totp_confirm("sam", wrong)
    assert (refused.value.status, refused.value.code) == (422, "me.totp_wrong")
    agent = await services.agents.get("sam")
    assert agent is not None and not agent.totp_enabled  # nothing changed
    pending = await services.agents.totp_pending("sam", "Acme Support")
    assert pending is not None and pending.secret == setup.secret
    await services.agents.totp_confirm("sam", right)
    agent = await services.agents.get("sam")
    assert agent is not None and agent.totp_enabled
    with pytest.raises(TeamRefused) as refused:  # on: a new set-up would lock the agent out
        await services.agents.totp_begin("sam", "Acme Support")
    assert refused.value.status == 409


async def test_the_secret_is_stored_encrypted(services: Services) -> None:
    secret = await agent_with_totp(services)
    rows = await Agent.raw("SELECT totp_secret FROM agent WHERE username = {}", "sam")
    stored = rows[0]["totp_secret"]
    assert stored and secret not in stored and secret.lower() not in stored.lower()
    assert stored.startswith("gAAAA")  # a Fernet token, under the messages' keys
    assert Cipher(services.settings.encryption_keys).decrypt(stored) == secret


async def test_login_takes_the_authenticator_code_within_one_step_and_once(services: Services) -> None:
    secret = await agent_with_totp(services)
    away_from_a_step_edge()
    moment = time.time()

    async def logs_in(code: str) -> str:
        attempt = await login.start(services.auth, "sam", GOOD, new_ip())  # no channel, yet a code can come
        return await login.finish(services.auth, attempt, code, new_ip(), None)

    for stale in (code_at(secret, moment - 60), code_at(secret, moment + 60)):  # two steps away: refused
        with pytest.raises(LoginRefused) as refused:
            await logs_in(stale)
        assert (refused.value.status, refused.value.message_key) == (401, "login.code_wrong")
    # The set-up's code used the current step: the step before is now older than the last one accepted.
    with pytest.raises(LoginRefused):
        await logs_in(code_at(secret, moment - 30))
    token = await logs_in(code_at(secret, moment + 30))  # one step ahead (a phone's clock running fast)
    identity = await services.auth.session_identity(token)
    assert identity is not None and identity.username == "sam"
    with pytest.raises(LoginRefused) as refused:  # the same code again: refused
        await logs_in(code_at(secret, moment + 30))
    assert refused.value.status == 401


async def test_each_code_is_accepted_once(services: Services) -> None:
    secret = await agent_with_totp(services)
    away_from_a_step_edge()
    code = code_at(secret, time.time() + 30)  # the set-up took the current step's code
    first = await login.start(services.auth, "sam", GOOD, new_ip())
    second = await login.start(services.auth, "sam", GOOD, new_ip())
    assert await login.finish(services.auth, first, code, new_ip(), None)
    with pytest.raises(LoginRefused) as refused:
        await login.finish(services.auth, second, code, new_ip(), None)
    assert (refused.value.status, refused.value.message_key) == (401, "login.code_wrong")


async def test_wrong_codes_are_counted_like_sent_ones(services: Services) -> None:
    secret = await agent_with_totp(services)
    ip = new_ip()
    attempt = await login.start(services.auth, "sam", GOOD, ip)
    statuses = []
    for n in range(MAX_CODE_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            await login.finish(services.auth, attempt, f"{n:06d}" if n else "abcdef", ip, None)
        statuses.append(refused.value.status)
    assert statuses[-1] == 429 and refused.value.message_key == "login.code_locked"
    with pytest.raises(LoginRefused) as refused:  # the attempt is dead, even for the right code
        await login.finish(services.auth, attempt, code_at(secret, time.time() + 30), ip, None)
    assert refused.value.status == 429


async def test_turning_it_off_takes_the_password(services: Services) -> None:
    await agent_with_totp(services)
    with pytest.raises(TeamRefused) as refused:
        await services.agents.totp_disable("sam", "not the password")
    assert refused.value.status == 403
    assert (await services.agents.get("sam")).totp_enabled  # type: ignore[union-attr]
    await services.agents.totp_disable("sam", GOOD)
    assert not (await services.agents.get("sam")).totp_enabled  # type: ignore[union-attr]
    rows = await Agent.raw("SELECT totp_secret FROM agent WHERE username = {}", "sam")
    assert rows[0]["totp_secret"] == ""
    with pytest.raises(LoginRefused) as refused:  # back to no code channel in production
        await login.start(services.auth, "sam", GOOD, new_ip())
    assert refused.value.status in (403, 503)


async def test_key_rotation_covers_the_secret(services: Services) -> None:
    """`sohbet rotate-keys` re-encrypts the TOTP secrets with the messages; the login keeps working on the new key."""
    secret = await agent_with_totp(services)
    new_key = Fernet.generate_key().decode()
    rotated = dataclasses.replace(services.settings, encryption_keys=(new_key, *services.settings.encryption_keys))
    with bindings_kept():
        result = await rotate_keys(rotated, report=lambda line: None, warn=lambda line: None)
    assert result.ok
    rows = await Agent.raw("SELECT totp_secret FROM agent WHERE username = {}", "sam")
    assert Fernet(new_key.encode()).decrypt(rows[0]["totp_secret"].encode()).decode() == secret


async def test_a_reset_clears_it_with_the_password(services: Services) -> None:
    """A lost phone: the owner's reset starts the agent over without the authenticator app."""
    await agent_with_totp(services)
    invite = await services.agents.reset("sam")
    await services.agents.accept_invite(invite.token, GOOD)
    agent = await services.agents.get("sam")
    assert agent is not None and not agent.totp_enabled
    rows = await Agent.raw("SELECT totp_secret FROM agent WHERE username = {}", "sam")
    assert rows[0]["totp_secret"] == ""
