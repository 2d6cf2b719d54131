"""How a visitor is named to whoever reads it: the name they gave, or, for a visitor who gave none, a label such as
"Visitor 4821" in the reader's language (SPEC §14). The one place that label is made: the visitor page, the
dashboard, the JSON API and Telegram all ask `visitor_label`.

Nothing localized is stored: an unnamed visitor's conversation keeps an empty name, and the label is derived when
it is shown, from the conversation's id. Older conversations stored the default name itself ("Visitor",
"Ziyaretçi"); those read as unnamed too, so an English agent no longer sees "Ziyaretçi".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.i18n import STRINGS, translator

if TYPE_CHECKING:  # conversations.py imports threads.py, which imports this module
    from app.services.conversations import ThreadView

# The number is a permutation of the conversation id rather than the id itself: distinct and stable all the same,
# but a visitor reading "Visitor 4821" cannot count the site's conversations, and neighbours do not look alike.
# Ids 1…9000 map to 9000 different four-digit numbers (the step is coprime with the block); each further block of
# 9000 ids gets a range of its own above the previous one.
BLOCK = 9000
STEP = 7919
FIRST = 4821  # conversation 1

LEGACY_DEFAULT_NAMES = frozenset(STRINGS["visitor.default_name"].values())


def label_number(conversation_id: int) -> int:
    """The stable number in an unnamed visitor's label, distinct for every conversation."""
    block, position = divmod(conversation_id - 1, BLOCK)
    return 1000 + block * BLOCK + (FIRST - 1000 + position * STEP) % BLOCK


def visitor_label(name: str | None, conversation_id: int, lang: str) -> str:
    """The visitor's name as a reader in `lang` sees it: the stored name, or (none, or a default name stored by
    an older version) "Visitor <number>" in that language."""
    name = (name or "").strip()
    if name and name not in LEGACY_DEFAULT_NAMES:
        return name
    return translator(lang)("visitor.label").format(number=label_number(conversation_id))


def display_name(thread: ThreadView | None, lang: str) -> str:
    """A conversation's visitor as a reader in `lang` sees it ("" without a conversation)."""
    if thread is None:
        return ""
    return visitor_label(thread.display_name, thread.id, lang)
