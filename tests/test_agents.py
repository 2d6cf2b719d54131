"""The team (app/services/agents.py, SPEC §8) in-process, with the app's own services: the first owner from
ADMIN_USERNAME (also on a database made before teams existed: its admin session and password keep working),
invites, the password rules, the last owner, disabling and what it ends."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from piccolo.apps.migrations.commands.forwards import run_forwards

from app.models import Agent, piccolo_conf
from app.models.db import bind_tables, close_engine, make_engine, open_engine
from app.services import login
from app.services.agents import TeamRefused
from app.services.crypto import new_token, token_hash
from app.services.login import LoginRefused
from app.services.passwords import check_new_password, common_passwords
from app.settings import Settings
from app.wiring import Services
from tests.inprocess import MIGRATION_ENV, MIGRATION_MODULES, bindings_kept, migrate_in_process, running_services
from tests.support import ADMIN_PASSWORD, base_env, create_database, drop_database

GOOD = "a long and fine password 7"
LAST_BEFORE_TEAMS = "2026-12-07T01:14:32:143200"  # the newest migration of the release before teams
_addresses = itertools.count(1)


def new_ip() -> str:
    return f"198.51.100.{next(_addresses)}"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = create_database(tmp_path)
    try:
        with bindings_kept():
            await migrate_in_process(url)
        async with running_services(Settings.from_env(base_env(tmp_path, url)), workers=False) as running:
            await running.agents.start()
            yield running
    finally:
        drop_database(url)


async def logs_in(services: Services, username: str, password: str) -> bool:
    try:
        await login.start(services.auth, username, password, new_ip())
    except LoginRefused as refused:
        assert refused.status == 401, refused.message_key
        return False
    return True


# -- the first owner -----------------------------------------------------------------------------------------


async def test_the_configured_admin_is_the_first_owner(services: Services) -> None:
    (owner,) = await services.agents.members()
    assert (owner.username, owner.role, owner.disabled, owner.display_name) == ("admin", "owner", False, "")
    assert await logs_in(services, "admin", ADMIN_PASSWORD)
    assert not await logs_in(services, "admin", "not the password at all")
    await services.auth.ensure_first_owner()  # again: still one row
    assert len(await services.agents.members()) == 1


async def migrate_to(url: str, migration_id: str, session_token: str) -> None:
    """Migrations up to `migration_id` only (the schema of an older release), and an admin logged in there."""
    saved = {name: os.environ.get(name) for name in MIGRATION_ENV}
    os.environ.update(DATABASE_URL=url, PICCOLO_CONF="app.models.piccolo_conf")
    for name in MIGRATION_MODULES:
        sys.modules.pop(name, None)
    engine = make_engine(url, pooled=False)
    piccolo_conf.DB = engine
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    try:
        result = await run_forwards(app_name="sohbet", migration_id=migration_id, fake=False)
        assert result.success, result.message
        moment = time.time()
        await engine.run_ddl(
            "INSERT INTO admin_session (token_hash, username, created_at, last_seen_at) "
            f"VALUES ('{token_hash(session_token)}', 'admin', {moment}, {moment})"
        )
    finally:
        await close_engine(engine)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def test_an_install_from_before_teams_upgrades_and_logs_in_as_before(tmp_path: Path) -> None:
    url = create_database(tmp_path)
    session = new_token()
    try:
        with bindings_kept():
            await migrate_to(url, LAST_BEFORE_TEAMS, session)
            await migrate_in_process(url)  # the upgrade: `sohbet migrate`, nothing else
        async with running_services(Settings.from_env(base_env(tmp_path, url))) as services:
            await services.agents.start()  # what the server does when it starts
            identity = await services.auth.session_identity(session)  # still logged in
            assert identity is not None and identity.username == "admin" and identity.is_owner
            assert await logs_in(services, "admin", ADMIN_PASSWORD)
            assert [a.role for a in await services.agents.members()] == ["owner"]
    finally:
        drop_database(url)


# -- invites and passwords -------------------------------------------------------------------------------------


async def test_an_invited_agent_sets_a_password_and_logs_in(services: Services) -> None:
    invite = await services.agents.create("Sam.K", "Sam Kaya", "agent")
    assert (invite.agent.username, invite.agent.display_name, invite.agent.role) == ("sam.k", "Sam Kaya", "agent")
    assert invite.agent.invited and not invite.agent.has_password
    assert not await logs_in(services, "sam.k", GOOD)  # no password yet
    assert (await services.agents.invited(invite.token)).username == "sam.k"
    for weak, code in (("short pass", "password.short"), ("qwertyuiop123", "password.common")):
        with pytest.raises(TeamRefused) as refused:
            await services.agents.accept_invite(invite.token, weak)
        assert (refused.value.status, refused.value.code) == (422, code)
    await services.agents.accept_invite(invite.token, GOOD)
    assert await logs_in(services, "sam.k", GOOD)
    for _ in range(2):  # used: gone
        with pytest.raises(TeamRefused) as refused:
            await services.agents.accept_invite(invite.token, GOOD + "x")
        assert refused.value.status == 410
    assert await logs_in(services, "sam.k", GOOD)


async def test_an_expired_invite_is_gone(services: Services) -> None:
    invite = await services.agents.create("late", "Late", "agent")
    await Agent.update({Agent.invite_expires_at: 1.0}).where(Agent.username == "late")
    with pytest.raises(TeamRefused) as refused:
        await services.agents.invited(invite.token)
    assert refused.value.status == 410
    with pytest.raises(TeamRefused):
        await services.agents.accept_invite(invite.token, GOOD)
    with pytest.raises(TeamRefused):
        await services.agents.invited("not-a-token")


@pytest.mark.parametrize(
    ("username", "code"),
    [("ab", "team.bad_username"), ("a" * 41, "team.bad_username"), ("has space", "team.bad_username")],
)
async def test_usernames_follow_the_rule(services: Services, username: str, code: str) -> None:
    with pytest.raises(TeamRefused) as refused:
        await services.agents.create(username, "X", "agent")
    assert refused.value.code == code


async def test_a_username_is_taken_once_and_roles_are_known(services: Services) -> None:
    await services.agents.create("dup", "One", "agent")
    with pytest.raises(TeamRefused) as refused:
        await services.agents.create("dup", "Two", "agent")
    assert (refused.value.status, refused.value.code) == (409, "team.taken")
    with pytest.raises(TeamRefused) as refused:
        await services.agents.create("other", "X", "boss")
    assert refused.value.code == "team.bad_role"


def test_the_common_password_list() -> None:
    listed = common_passwords()
    assert len(listed) == 10_000 and "password" in listed and "qwertyuiop123" in listed
    check_new_password("correct-horse-battery-staple")
    with pytest.raises(ValueError):
        check_new_password("1q2w3e4r5t6y")


# -- the last owner, disabling, resetting, roles ---------------------------------------------------------------


async def test_the_last_enabled_owner_stays(services: Services) -> None:
    for change in (
        services.agents.disable("admin"),
        services.agents.set_role("admin", "agent"),
        services.agents.reset("admin"),
    ):
        with pytest.raises(TeamRefused) as refused:
            await change
        assert (refused.value.status, refused.value.code) == (409, "team.last_owner")
    second = await services.agents.create("second", "Second", "owner")
    with pytest.raises(TeamRefused):  # an owner still invited cannot log in yet: no way in without the admin
        await services.agents.disable("admin")
    await services.agents.accept_invite(second.token, GOOD)
    await services.agents.set_role("admin", "agent")  # another owner exists now
    with pytest.raises(TeamRefused):
        await services.agents.disable("second")
    await services.agents.set_role("admin", "owner")
    await services.agents.disable("second")  # the admin is an owner again


async def test_disabling_ends_the_sessions_and_the_logins(services: Services) -> None:
    invite = await services.agents.create("kim", "Kim", "agent")
    await services.agents.accept_invite(invite.token, GOOD)
    sessions = [await services.auth.create_session("kim") for _ in range(2)]
    identity = await services.auth.session_identity(sessions[0])
    assert identity is not None and identity.role == "agent" and identity.display_name == "Kim"
    await services.agents.disable("kim")
    assert [await services.auth.session_identity(s) for s in sessions] == [None, None]
    assert not await logs_in(services, "kim", GOOD)
    await services.agents.enable("kim")
    assert await logs_in(services, "kim", GOOD)


async def test_reset_and_role_change_end_sessions(services: Services) -> None:
    invite = await services.agents.create("lee", "Lee", "agent")
    await services.agents.accept_invite(invite.token, GOOD)
    session = await services.auth.create_session("lee")
    await services.agents.set_role("lee", "owner")
    assert await services.auth.session_identity(session) is None
    session = await services.auth.create_session("lee")
    again = await services.agents.reset("lee")
    assert await services.auth.session_identity(session) is None
    assert not await logs_in(services, "lee", GOOD)  # the password went with the reset
    await services.agents.accept_invite(again.token, GOOD + "!")
    assert await logs_in(services, "lee", GOOD + "!")


async def test_own_password_and_name(services: Services) -> None:
    session = await services.auth.create_session("admin")
    with pytest.raises(TeamRefused) as refused:
        await services.agents.change_password("admin", "wrong", GOOD)
    assert refused.value.status == 403
    with pytest.raises(TeamRefused) as refused:
        await services.agents.change_password("admin", ADMIN_PASSWORD, "password1234")
    assert refused.value.code == "password.common"
    assert await services.auth.session_identity(session) is not None
    await services.agents.change_password("admin", ADMIN_PASSWORD, GOOD)
    assert await services.auth.session_identity(session) is None
    assert not await logs_in(services, "admin", ADMIN_PASSWORD)
    assert await logs_in(services, "admin", GOOD)
    await services.agents.rename("admin", "  Ayşe  Owner ")
    assert (await services.agents.get("admin")).display_name == "Ayşe Owner"


async def test_an_agent_without_a_code_channel_in_production_is_told(tmp_path: Path) -> None:
    url = create_database(tmp_path)
    try:
        with bindings_kept():
            await migrate_in_process(url)
        env = base_env(tmp_path, url)
        async with running_services(Settings.from_env(env)) as dev:
            await dev.agents.start()
            invite = await dev.agents.create("night", "Night", "agent")
            await dev.agents.accept_invite(invite.token, GOOD)
            dev.auth._sender.available = False  # type: ignore[attr-defined]
            dev.auth._agent_sender.available = False  # type: ignore[attr-defined]
            with pytest.raises(LoginRefused) as refused:
                await login.start(dev.auth, "night", GOOD, new_ip())
            assert refused.value.status == 503  # no channel at all: as before
            dev.auth._sender.available = True  # type: ignore[attr-defined]
            with pytest.raises(LoginRefused) as refused:
                await login.start(dev.auth, "night", GOOD, new_ip())
            assert (refused.value.status, refused.value.message_key) == (403, "login.no_code_channel")
            with pytest.raises(LoginRefused) as refused:
                await login.start(dev.auth, "night", "wrong password here", new_ip())
            assert refused.value.status == 401  # a wrong password never learns about channels
    finally:
        drop_database(url)


# -- backups keep the team -------------------------------------------------------------------------------------


async def test_a_backup_keeps_the_team_and_restores_over_a_fresh_first_owner(tmp_path: Path) -> None:
    from app.backup.dump import create_backup
    from app.backup.restore import restore_backup

    for name in ("source", "target"):
        (tmp_path / name).mkdir()
    urls = [create_database(tmp_path / name) for name in ("source", "target")]
    try:
        with bindings_kept():
            for url in urls:
                await migrate_in_process(url)
        source = Settings.from_env(base_env(tmp_path / "source", urls[0]))
        target = Settings.from_env(
            {**base_env(tmp_path / "target", urls[1]), "ENCRYPTION_KEYS": ",".join(source.encryption_keys)}
        )
        archive = tmp_path / "team.zip"
        async with running_services(source) as services:
            await services.agents.start()
            invite = await services.agents.create("kept", "Kept Agent", "agent")
            await services.agents.accept_invite(invite.token, GOOD)
            with bindings_kept():
                await create_backup(source, archive, report=lambda _: None)
        async with running_services(target) as services:
            await services.agents.start()  # a server started on the new database first: its first owner exists
        with bindings_kept():
            await restore_backup(target, archive, report=lambda _: None)  # no --force needed
        async with running_services(target) as services:
            assert [(a.username, a.role) for a in await services.agents.members()] == [
                ("admin", "owner"),
                ("kept", "agent"),
            ]
            assert await logs_in(services, "kept", GOOD)
            assert await logs_in(services, "admin", ADMIN_PASSWORD)
    finally:
        for url in urls:
            drop_database(url)
