"""`sohbet agent add|list|disable|reset`: the team from the command line (SPEC §8), through the same service the
owner's pages use (app/services/agents.py), with the app's own wiring (app/wiring.py open_services).

A change that ends sessions reaches running servers as the pages' do: on PostgreSQL through NOTIFY at once; on
SQLite the server's open streams notice within 5 s (they reread their session) and the next request finds no
session."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.services.audit import CLI
from app.settings import Settings

if TYPE_CHECKING:  # the services (and the tables) are imported only when a command runs, after the settings
    from app.services.agents import Invite

ROLES = ("agent", "owner")

# What a refusal says on the console (the pages show the app.i18n message).
REFUSALS = {
    "team.bad_username": "the username must be 3 to 40 characters of a-z, 0-9, '.', '_' or '-'",
    "team.bad_role": "the role must be agent or owner",
    "team.bad_display_name": "the display name must be 1 to 50 characters",
    "team.taken": "that username is taken",
    "team.unknown": "no such agent",
    "team.last_owner": "the last enabled owner cannot be disabled, demoted or reset (make another owner first)",
}


def invite_link(settings: Settings, invite: Invite) -> str:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base}/invite/{invite.token}"


async def _run(settings: Settings, args: argparse.Namespace) -> list[str]:
    from app.wiring import open_services

    async with open_services(settings, workers=False) as services:
        agents = services.agents
        await agents.start()  # the first owner from ADMIN_USERNAME, as a server's start would make it
        if args.agent_command == "add":
            invite = await agents.create(args.username, args.name or "", args.role, actor=CLI)
            return [
                f"agent {invite.agent.username} ({invite.agent.role}) created; the invite link (once, 72 hours):",
                invite_link(settings, invite),
            ]
        if args.agent_command == "reset":
            invite = await agents.reset(args.username, actor=CLI)
            return [
                f"agent {args.username}: password cleared, sessions ended; the new invite link:",
                invite_link(settings, invite),
            ]
        if args.agent_command == "disable":
            await agents.disable(args.username, actor=CLI)
            return [f"agent {args.username} disabled; every session of theirs ended"]
        lines = []
        for agent in await agents.members():
            state = (
                "disabled" if agent.disabled else ("invited" if agent.invited and not agent.has_password else "active")
            )
            lines.append(f"{agent.username}\t{agent.role}\t{state}\t{agent.display_name}")
        return lines or ["no agents"]


def command(settings_of: Callable[[], Settings]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from app.services.agents import TeamRefused

        try:
            lines = asyncio.run(_run(settings_of(), args))
        except TeamRefused as refused:
            sys.stderr.write(f"sohbet: agent {args.agent_command}: {REFUSALS.get(refused.code, refused.code)}\n")
            return 1
        for line in lines:
            print(line)
        return 0

    return run


def register(
    commands: Any, make_command: Callable[..., argparse.ArgumentParser], settings_of: Callable[[], Settings]
) -> None:
    """The `agent` command and its subcommands, on the `sohbet` parser."""
    agent = make_command(
        commands,
        "agent",
        command(settings_of),
        help="manage the team: add (prints an invite link), list, disable, reset",
        description="The team of agents who answer (SPEC §8). ADMIN_USERNAME is the first owner.\n\n"
        "  sohbet agent add USERNAME [--name N] [--role agent|owner]   prints a one-time invite link (72 h)\n"
        "  sohbet agent list                                            username, role, state, display name\n"
        "  sohbet agent disable USERNAME                                ends every session of theirs\n"
        "  sohbet agent reset USERNAME                                  clears the password: a new invite link\n\n"
        "Invite links start with PUBLIC_URL. Exit status: 0 done, 1 refused (the reason on stderr).",
    )
    sub = agent.add_subparsers(dest="agent_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="a new agent and their invite link")
    add.add_argument("username", metavar="USERNAME")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--role", choices=ROLES, default="agent", help="agent (default) or owner")
    sub.add_parser("list", help="every agent")
    for name, text in (
        ("disable", "disable an agent (ends their sessions)"),
        ("reset", "clear a password, new invite"),
    ):
        sub.add_parser(name, help=text).add_argument("username", metavar="USERNAME")
