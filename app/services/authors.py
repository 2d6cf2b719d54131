"""Who wrote an admin message: the agent's display name, looked up for a batch of messages at once."""

from __future__ import annotations

from app.models import Agent


async def author_names(usernames: set[str]) -> dict[str, str]:
    """Display names of the agents who wrote messages, by username (none asked: no query)."""
    if not usernames:
        return {}
    rows = await Agent.select(Agent.username, Agent.display_name).where(Agent.username.is_in(sorted(usernames)))
    return {row["username"]: row["display_name"] for row in rows}
