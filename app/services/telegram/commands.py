"""The team's commands in the admin chat (SPEC §8): `/assign @username` (`/assign me`, `/assign` alone to unassign),
`/resolve`, `/snooze 2h` and `/note TEXT` (a private note, app/services/notes.py), on the conversation of the
topic or message they answer (routed by inbound.py).

Only a Telegram account linked to an enabled agent may run them (a stranger in the admin chat is told to link
first); `/assign me` means that agent. The change itself is the dashboard's (app/services/status.py `Triage`):
the same durations and ISO times, the same refusals, the same live `thread` event. The answers are short English
lines, like the bot's other answers.
"""

from __future__ import annotations

from app.services import notes
from app.services.conversations import ConversationNotFound, ConversationService
from app.services.status import StatusRefused, Triage

TEAM_COMMANDS = ("assign", "resolve", "snooze", "note")
LINK_FIRST = "Link your Telegram account first: open your account page in Sohbet (/admin/me) and follow its link."
GONE = "That conversation no longer exists."
REFUSALS = {
    "unknown_agent": "Unknown agent: {argument}. Nothing changed.",
    "snooze_until": "Snooze for how long? For example /snooze 30m, /snooze 2h, /snooze 1d (at most a year) or an "
    "ISO time like /snooze 2026-12-24T09:00. Nothing changed.",
    "bad_status": "Nothing changed.",
}
NOTE_TEXT = "Write the note after /note, at most 4000 characters. Nothing was added."


def where_to_use(command: str) -> str:
    return f"Use /{command} in a conversation's topic, as a reply to one of its messages, or with #thread:<id>."


async def run(
    triage: Triage,
    conversations: ConversationService,
    command: str,
    conversation_id: int,
    argument: str,
    agent: str,
) -> str:
    """Run one team command for `agent` (a linked, enabled agent's username); the answer for the chat."""
    argument = argument.strip()
    if command == "note":
        try:
            await notes.add(conversations, conversation_id, argument, agent)
        except notes.NoteRefused:
            return NOTE_TEXT
        except ConversationNotFound:
            return GONE
        return f"Note added to #{conversation_id} (only agents see it)."
    try:
        if command == "assign":
            target = argument.removeprefix("@")
            if not await triage.assign(conversation_id, target, agent):
                return GONE
            if not target:
                return f"#{conversation_id} is now unassigned."
            return f"#{conversation_id} is now assigned to {agent if target == 'me' else target.lower()}."
        if command == "resolve":
            if not await triage.set_status(conversation_id, "resolved", by=agent):
                return GONE
            return f"#{conversation_id} is resolved."
        if not await triage.set_status(conversation_id, "snoozed", argument):
            return GONE
    except StatusRefused as refused:
        return REFUSALS.get(refused.code, REFUSALS["bad_status"]).format(argument=argument[:40])
    thread = await conversations.get(conversation_id)
    until = thread.snoozed_until if thread is not None else None
    shown = until.strftime("%Y-%m-%d %H:%M UTC") if until is not None else "later"
    return f"#{conversation_id} is snoozed until {shown}."
