"""Away mode (SPEC §9): support is away outside business hours (app/services/hours.py) or while no available
agent has a dashboard open (app/services/presence.py). Then the visitor page shows the away message and when to
expect a reply, and the first visitor message of an away period gets the away message once, as a `system`
message — once away mode is set up (an away message or business hours; see AwaySettings.posts_notice).

An away period, for one conversation, began at the later of: the start of the current stretch of the business
hours (the closing time while closed, the opening time while open), and its last visitor message written while
support was online. So a visitor writing all night hears it once; again the next morning if nobody is there yet,
and again after support was there and left. An agent answering while away (from Telegram, or a dashboard without
its live stream) does not start a new period: the visitor is not told "away" right after an answer.
`conversation.away_notice_at` keeps when the message was last posted; a conditional UPDATE (only when it is older
than the period's start) decides which of two racing posts, in any process, posts it.

The settings (hours, time zone, away message, expected reply, HIDE_WHEN_AWAY) live with the workspace settings
(app/services/workspace.py, edited on /admin/settings), the environment giving the defaults.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app import clock
from app.models import Conversation
from app.services.conversations import ConversationService
from app.services.hours import HoursError, Schedule, parse_hours, zone_of
from app.services.presence import ADMIN, PresenceTracker
from app.services.workspace import Snapshot, Workspace

log = logging.getLogger("sohbet.away")

# The away message when the owner wrote none: the status line's own words (an i18n key: each reader's language).
DEFAULT_MESSAGE = "support.offline"
KEYS = ("business_hours", "timezone", "away_message", "expected_reply", "hide_when_away")
AWAY_MESSAGE_MAX = 500
EXPECTED_REPLY_MAX = 100


@dataclass(frozen=True, slots=True)
class AwaySettings:
    """As stored (or from the environment). Empty `away_message`: the translated default."""

    business_hours: str = ""
    timezone: str = "UTC"
    away_message: str = ""
    expected_reply: str = ""
    hide_when_away: bool = False

    @property
    def posts_notice(self) -> bool:
        """The away message is posted in conversations once the owner set up away mode: an away message or
        business hours. Neither: the status line's "Support is offline — leave a message" is all, as before."""
        return bool(self.away_message.strip() or self.business_hours.strip())

    @property
    def schedule(self) -> Schedule:
        try:
            return parse_hours(self.business_hours, self.timezone)
        except HoursError:  # only checked values are stored; an unreadable one must not close support
            return parse_hours("")


@dataclass(frozen=True, slots=True)
class SupportStatus:
    """What the visitor page's status line says: online, or away with the owner's message (empty: the translated
    default, "Support is offline") and the expected reply time (empty: not shown)."""

    online: bool
    message: str = ""
    expected_reply: str = ""


def away_settings_of(snapshot: Snapshot, defaults: AwaySettings) -> AwaySettings:
    values = snapshot.values
    hide = values.get("hide_when_away")
    return AwaySettings(
        business_hours=values.get("business_hours", defaults.business_hours),
        timezone=values.get("timezone", defaults.timezone) or "UTC",
        away_message=values.get("away_message", defaults.away_message),
        expected_reply=values.get("expected_reply", defaults.expected_reply),
        hide_when_away=defaults.hide_when_away if hide is None else hide == "on",
    )


class AwayMode:
    """Whether support is away now, what the visitor sees then, and the once-per-period away message."""

    def __init__(
        self,
        workspace: Workspace,
        presence: PresenceTracker,
        conversations: ConversationService,
        defaults: AwaySettings,
        now: Callable[[], float] = clock.now,
    ) -> None:
        self.workspace = workspace
        self._presence = presence
        self._conversations = conversations
        self.defaults = defaults
        self.now = now
        self.current = defaults
        self._schedule = defaults.schedule
        workspace.on_change(self._update)

    def _update(self, snapshot: Snapshot) -> None:
        self.current = away_settings_of(snapshot, self.defaults)
        self._schedule = self.current.schedule

    def launcher(self) -> dict[str, Any]:
        """What the widget's launcher needs to show the away state on the host page before its chat is loaded: the
        hours (`h`: [day, start, end] minutes) and their zone (`z`); nothing when always open. Whether an agent is
        there it learns from the chat once loaded."""
        if self._schedule.always_open:
            return {}
        return {"h": [[s.day, s.start, s.end] for s in self._schedule.spans], "z": self._schedule.zone.key}

    def in_hours(self, at: float | None = None) -> bool:
        return self._schedule.is_open(self.now() if at is None else at)

    async def support_online(self) -> bool:
        """Inside business hours and an available agent on a dashboard (or support forced online by hand)."""
        return self.in_hours() and await self._presence.is_online(ADMIN)

    async def status(self) -> SupportStatus:
        if await self.support_online():
            return SupportStatus(True)
        return SupportStatus(False, self.current.away_message, self.current.expected_reply)

    async def hides_chat(self) -> bool:
        """HIDE_WHEN_AWAY is on and support is away: the widget offers "leave a message" instead of the chat."""
        return self.current.hide_when_away and not await self.support_online()

    async def after_visitor_message(self, conversation_id: int) -> None:
        """A visitor message was stored: while away, the away message follows it once per away period. A failure
        here is logged, never the visitor's error (their message is stored)."""
        try:
            await self._notice(conversation_id)
        except Exception as exc:
            log.warning(json.dumps({"event": "away.notice_failed", "error": type(exc).__name__}))

    async def _notice(self, conversation_id: int) -> None:
        if not self.current.posts_notice:  # nothing configured: no query on the message's path
            return
        if await self.support_online():  # support was there for this message: the next away period is a new one
            await Conversation.update({Conversation.away_notice_at: None}).where(
                (Conversation.id == conversation_id) & Conversation.away_notice_at.is_not_null()
            )
            return
        at = self.now()
        period = self._schedule.boundary(at)
        claimed = await (
            Conversation.update({Conversation.away_notice_at: at})
            .where(
                (Conversation.id == conversation_id)
                & (Conversation.away_notice_at.is_null() | (Conversation.away_notice_at < period))
            )
            .returning(Conversation.id)
        )
        if not claimed:
            return
        settings = self.current
        text = settings.away_message or DEFAULT_MESSAGE
        await self._conversations.post(conversation_id, "system", text)
        log.info(json.dumps({"event": "away.notice", "conversation": conversation_id}))


@dataclass
class HoursForm:
    """The business hours fieldset of /admin/settings as typed, and its errors by field (i18n key, values).
    `present`: the fields the form carried (a post without them leaves those settings alone)."""

    business_hours: str = ""
    timezone: str = "UTC"
    away_message: str = ""
    expected_reply: str = ""
    hide_when_away: bool = False
    present: frozenset[str] = frozenset(KEYS)
    errors: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: AwaySettings) -> HoursForm:
        return cls(
            settings.business_hours,
            settings.timezone,
            settings.away_message,
            settings.expected_reply,
            settings.hide_when_away,
        )

    @classmethod
    def posted(cls, data: Mapping[str, Any]) -> HoursForm:
        """From a posted form: a checkbox is absent when off, so `hide_when_away` counts as present when the
        fieldset is (its `hours_form` marker)."""
        present = {k for k in KEYS if k in data}
        if "hours_form" in data:
            present.add("hide_when_away")
        return cls(
            business_hours=str(data.get("business_hours") or ""),
            timezone=str(data.get("timezone") or ""),
            away_message=str(data.get("away_message") or ""),
            expected_reply=str(data.get("expected_reply") or ""),
            hide_when_away=data.get("hide_when_away") in ("on", "1"),
            present=frozenset(present),
        )

    def checked(self, one_line: Callable[[str, int], str | None]) -> dict[str, str]:
        """The values to store (only the fields present); what is wrong goes into `errors`."""
        values: dict[str, str] = {}
        hours = self.business_hours.strip()
        zone = self.timezone.strip() or "UTC"
        for name, check in (("timezone", lambda: zone_of(zone)), ("business_hours", lambda: parse_hours(hours))):
            try:
                check()  # the hours' syntax does not depend on the zone: both errors show at once
            except HoursError as error:
                self.errors[name] = (f"settings.{error.code.replace('.', '_')}", {"detail": error.detail})
        values["business_hours"] = "; ".join(" ".join(g.split()) for g in re.split(r"[;\n]", hours) if g.strip())
        values["timezone"] = zone
        for name, limit in (("away_message", AWAY_MESSAGE_MAX), ("expected_reply", EXPECTED_REPLY_MAX)):
            text = one_line(getattr(self, name), limit)
            if text is None:
                self.errors[name] = (f"settings.{name}_invalid", {"max": limit})
            values[name] = text or ""
        values["hide_when_away"] = "on" if self.hide_when_away else "off"
        return {k: v for k, v in values.items() if k in self.present}
