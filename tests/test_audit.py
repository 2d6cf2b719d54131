"""The audit log (app/services/audit.py, SPEC §8) in-process, with the app's own services: each action writes one
row with its actor, IP, action and target; a failed login keeps the username tried and the address, never the
password; clears never keep message text; rows older than 180 days go with the housekeeping worker."""

from __future__ import annotations

import json

from app.clock import now
from app.models import AuditEvent
from app.services import audit, login
from app.services.login import LoginRefused
from app.wiring import Services
from tests.test_agents import GOOD, services  # noqa: F401  (the fixture)

OWNER_IP = "203.0.113.7"


async def rows(action: str | None = None) -> list[dict]:
    query = AuditEvent.select().order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(await query)


async def test_team_changes_are_recorded_with_actor_ip_and_target(services: Services) -> None:  # noqa: F811
    agents, by = services.agents, {"actor": "admin", "ip": OWNER_IP}
    invite = await agents.create("kim", "Kim", "agent", **by)
    await agents.accept_invite(invite.token, GOOD, ip="198.51.100.9")
    await agents.set_role("kim", "owner", **by)
    await agents.disable("kim", **by)
    await agents.enable("kim", **by)
    await agents.reset("kim", **by)
    got = [(r["action"], r["actor"], r["ip"], r["target"]) for r in await rows()]
    assert got == [
        ("team.created", "admin", OWNER_IP, "kim"),
        ("team.invite_accepted", "kim", "198.51.100.9", "kim"),
        ("team.role", "admin", OWNER_IP, "kim"),
        ("team.disabled", "admin", OWNER_IP, "kim"),
        ("team.enabled", "admin", OWNER_IP, "kim"),
        ("team.reset", "admin", OWNER_IP, "kim"),
    ]
    role = (await rows("team.role"))[0]
    assert json.loads(role["details"]) == {"role": "owner", "was": "agent"}
    everything = json.dumps(await rows())
    assert GOOD not in everything and invite.token not in everything


async def test_a_refused_change_writes_nothing(services: Services) -> None:  # noqa: F811
    await services.agents.create("kim", "Kim", "agent", actor="admin", ip=OWNER_IP)
    try:
        await services.agents.create("kim", "Kim", "agent", actor="admin", ip=OWNER_IP)
    except Exception:
        pass
    assert len(await rows("team.created")) == 1


async def test_logins_and_failed_logins(services: Services) -> None:  # noqa: F811
    secret = "not the right password 42"
    try:
        await login.start(services.auth, "admin", secret, "192.0.2.44")
    except LoginRefused:
        pass
    failed = await rows("login.failed")
    assert [(r["actor"], r["ip"], r["target"]) for r in failed] == [("admin", "192.0.2.44", "admin")]
    assert secret not in json.dumps(failed)
    await services.auth.create_session("admin", "192.0.2.45")
    assert [(r["actor"], r["ip"]) for r in await rows("login.success")] == [("admin", "192.0.2.45")]


async def test_password_change_is_recorded_without_the_password(services: Services) -> None:  # noqa: F811
    invite = await services.agents.create("lee", "Lee", "agent")
    await services.agents.accept_invite(invite.token, GOOD)
    new = "another long fine password 8"
    await services.agents.change_password("lee", GOOD, new, ip="192.0.2.50")
    changed = await rows("team.password_changed")
    assert [(r["actor"], r["ip"], r["target"]) for r in changed] == [("lee", "192.0.2.50", "lee")]
    assert GOOD not in json.dumps(await rows()) and new not in json.dumps(await rows())
    assert (await rows("team.created"))[0]["actor"] == audit.SYSTEM


async def test_clears_keep_no_message_text(services: Services) -> None:  # noqa: F811
    thread, _ = await services.conversations.start("Deniz", "en")
    await services.conversations.post(thread.id, "visitor", "my card is 4111 1111 1111 1111")
    await services.conversations.clear(thread.id, actor="admin", ip=OWNER_IP)
    await services.conversations.start("Ece", "en")
    await services.conversations.clear_all(actor="admin", ip=OWNER_IP)
    got = [(r["action"], r["actor"], r["ip"], r["target"]) for r in await rows()]
    assert got == [
        ("conversation.cleared", "admin", OWNER_IP, str(thread.id)),
        ("conversation.cleared_all", "admin", OWNER_IP, ""),
    ]
    assert "4111" not in json.dumps(await rows())


async def test_settings_changes_keep_keys_not_values(services: Services) -> None:  # noqa: F811
    workspace = services.brand.workspace
    await workspace.save({"site_name": "Secretly Named", "greeting": "hi"}, actor="admin", ip=OWNER_IP)
    await workspace.save({"site_name": "Secretly Named", "greeting": "hello"}, actor="admin", ip=OWNER_IP)
    saved = await rows("settings.saved")
    assert [json.loads(r["details"])["keys"] for r in saved] == [["greeting", "site_name"], ["greeting"]]
    assert "Secretly" not in json.dumps(saved)


async def test_entries_page_newest_first_and_filter(services: Services) -> None:  # noqa: F811
    for n in range(5):
        await audit.record("team.enabled", f"agent{n}", actor="admin")
    await audit.record("login.success", "admin", actor="admin")
    newest = await audit.entries(limit=3)
    assert [e.target for e in newest] == ["admin", "agent4", "agent3"]
    older = await audit.entries(before=newest[-1].id, limit=3)
    assert [e.target for e in older] == ["agent2", "agent1", "agent0"]
    assert [e.action for e in await audit.entries(action="login.success")] == ["login.success"]


async def test_rows_older_than_180_days_are_pruned_by_housekeeping(services: Services) -> None:  # noqa: F811
    await audit.record("team.enabled", "old", actor="admin")
    await audit.record("team.enabled", "new", actor="admin")
    await AuditEvent.update({AuditEvent.created_at: now() - audit.KEEP_SECONDS - 60}).where(AuditEvent.target == "old")
    await AuditEvent.update({AuditEvent.created_at: now() - audit.KEEP_SECONDS + 3600}).where(
        AuditEvent.target == "new"
    )
    done = await services.housekeeping.run_once()
    assert done["audit"] == 1
    assert [r["target"] for r in await rows()] == ["new"]
