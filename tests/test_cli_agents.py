"""`sohbet agent add|list|disable|reset` (app/ops/agents.py) as the operator runs it, against a running server on
the same database: the invite link printed (on PUBLIC_URL) works, a disabled agent's open stream ends within 5 s,
refusals exit 1 with the reason."""

from __future__ import annotations

import re
import time

from tests.server.test_revocation import OneStream, jar
from tests.server.test_team import PASSWORD, accept
from tests.support import login_admin, sohbet

LINK_RE = re.compile(r"^(http\S+/invite/\S+)$", re.M)


def agent(server, *args: str):
    return sohbet({**server.env, "PUBLIC_URL": server.url}, "agent", *args)


def test_the_team_from_the_command_line(server):
    listed = agent(server, "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^admin\towner\tactive\t$", listed.stdout, re.M), listed.stdout

    added = agent(server, "add", "cli.sam", "--name", "Sam From CLI")
    assert added.returncode == 0, added.stderr
    (link,) = LINK_RE.findall(added.stdout)
    assert link.startswith(server.url + "/invite/")
    assert re.search(r"^cli\.sam\tagent\tinvited\tSam From CLI$", agent(server, "list").stdout, re.M)
    assert accept(server, link).status_code == 200
    sam = login_admin(server, username="cli.sam", password=PASSWORD)

    stream = OneStream(server.url, "/admin/events", jar(sam)).opened()
    result = agent(server, "disable", "cli.sam")
    disabled = time.monotonic()  # the command has committed (its own start-up time is not the server's)
    assert result.returncode == 0, result.stderr
    took = stream.wait_ended(disabled)
    print(f"\nthe agent's stream ended {took:.2f}s after `sohbet agent disable` returned")
    assert sam.get("/admin").status_code == 303
    assert re.search(r"^cli\.sam\tagent\tdisabled\t", agent(server, "list").stdout, re.M)

    reset = agent(server, "reset", "cli.sam")
    assert reset.returncode == 0 and LINK_RE.search(reset.stdout), reset.stderr

    owner = agent(server, "add", "cli.boss", "--role", "owner")
    assert owner.returncode == 0 and re.search(
        r"^cli\.boss\towner\tinvited\tcli\.boss$", agent(server, "list").stdout, re.M
    )
    # The audit log (SPEC §8) has each command, by "cli".
    audit = login_admin(server).get("/admin/audit").text
    by_cli = re.findall(r'data-action="([^"]+)" data-actor="cli"', audit)
    assert by_cli[:4] == ["team.created", "team.reset", "team.disabled", "team.created"], by_cli


def test_refusals_exit_1_with_the_reason(server):
    for args, reason in (
        (("add", "x"), "3 to 40 characters"),
        (("add", "admin"), "taken"),
        (("disable", "nobody"), "no such agent"),
        (("disable", "admin"), "last enabled owner"),
        (("reset", "admin"), "last enabled owner"),
    ):
        result = agent(server, *args)
        assert result.returncode == 1 and reason in result.stderr, (args, result.stderr)
    assert agent(server, "add", "bad-role", "--role", "boss").returncode == 2  # a usage error
