"""Each agent's availability (SPEC §8): `online` or `away`, set on the dashboard; and who of the team is on a
dashboard now, as the dashboard lists them. Round robin and the visitor's "support online" read the same state
(PresenceTracker.available_agents): an open dashboard of an agent who is not away."""

from __future__ import annotations

from dataclasses import dataclass

from app.models import Agent
from app.services.presence import PresenceTracker

AVAILABILITIES = ("online", "away")


class AvailabilityRefused(ValueError):
    """Not one of AVAILABILITIES: nothing changed."""


@dataclass(frozen=True, slots=True)
class TeamMember:
    """An agent with a dashboard open: `availability` online or away."""

    username: str
    display_name: str
    availability: str


async def set_availability(presence: PresenceTracker, username: str, value: str) -> None:
    """The agent's own availability; every dashboard's team list and every visitor's support status follow."""
    if value not in AVAILABILITIES:
        raise AvailabilityRefused(value)
    await Agent.update({Agent.availability: value}).where(Agent.username == username)
    await presence.agent_changed(username)


async def is_away(username: str) -> bool:
    """Whether the agent set themselves away (their dashboard then plays no sound for new messages)."""
    return await Agent.exists().where((Agent.username == username) & (Agent.availability == "away"))


async def team_on_dashboards(presence: PresenceTracker) -> list[TeamMember]:
    """The enabled agents with a dashboard open, by display name (two queries, whatever the team's size)."""
    online = await presence.online_agents()
    if not online:
        return []
    rows = await Agent.select(Agent.username, Agent.display_name, Agent.availability).where(
        Agent.username.is_in(sorted(online)) & (Agent.disabled == False)  # noqa: E712
    )
    members = [TeamMember(r["username"], r["display_name"] or r["username"], r["availability"]) for r in rows]
    return sorted(members, key=lambda m: (m.display_name.lower(), m.username))
