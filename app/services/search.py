"""Search over encrypted messages (SPEC §10) with a blind index: `search_term` holds, for every word of a message
and of a conversation's visitor name and email, a keyed hash of the word's normalised form, never the word.

Normalising folds case and marks so that İstanbul, ISTANBUL and istanbul, or café and cafe, are one word: the
Turkish dotted and dotless i (İ, I, ı) become i, the text is case-folded, decomposed (NFKD) and stripped of
combining marks, then split into runs of letters and digits. The hash is HMAC-SHA256 under a key derived from
SECRET_KEY with HKDF (`index_key`), truncated to 64 bits (a signed BIGINT): a collision only adds a result.

Each indexed message (and each conversation's visitor entry, `message` NULL) also gets a marker term that no word
can produce; `sohbet reindex` (app/ops/reindex.py) skips what already carries the current key's marker, which
makes it resumable. Entries reference their message and conversation ON DELETE CASCADE: a clear, clear-all,
retention or an erasure deletes them with the rows. What the index tells someone holding the database alone is
in SYSTEM_DOCS/02_ARCHITECTURE.md ("Search index").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.models import Conversation, Message, SearchTerm
from app.services.crypto import Cipher
from app.services.visitor_names import visitor_label

INFO = b"sohbet search index"
WORD_MIN = 2  # shorter words are neither indexed nor searched
WORD_MAX = 64  # longer runs are cut to this length (on both sides, so they still match)
WORDS_PER_ENTRY = 1000  # distinct words indexed per message: 4000 characters hold at most ~1300
QUERY_WORDS = 8
RESULTS = 50
SNIPPET_CHARS = 140
# Marker terms (a word never holds NUL). Bump the version when normalising changes: `sohbet reindex` then redoes all.
MESSAGE_MARK = "\x00message:1"
VISITOR_MARK = "\x00visitor:1"

_TURKISH_I = str.maketrans({"\u0130": "i", "I": "i", "\u0131": "i"})
_WORD = re.compile(r"\w+")


def index_key(secret_key: str) -> bytes:
    """The index's HMAC key: HKDF-SHA256 of SECRET_KEY (changing SECRET_KEY calls for `sohbet reindex`)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret_key.encode("utf-8"))


def fold(text: str) -> str:
    """`text` with case, Turkish i's and diacritics folded (see the module docstring)."""
    folded = unicodedata.normalize("NFKD", text.translate(_TURKISH_I).casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def words(text: str, limit: int = WORDS_PER_ENTRY) -> list[str]:
    """The distinct normalised words of `text`, in order of appearance, at most `limit`."""
    found: dict[str, None] = {}
    for match in _WORD.finditer(fold(text)):
        word = match.group().strip("_")[:WORD_MAX]
        if len(word) >= WORD_MIN:
            found[word] = None
            if len(found) >= limit:
                break
    return list(found)


def term(key: bytes, word: str) -> int:
    """A word's keyed hash as it is stored: the first 8 bytes of HMAC-SHA256, a signed 64-bit integer."""
    digest = hmac.new(key, word.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def message_terms(key: bytes, text: str) -> list[int]:
    return [term(key, MESSAGE_MARK), *(term(key, word) for word in words(text))]


def visitor_terms(key: bytes, name: str | None, email: str | None) -> list[int]:
    found = words(f"{name or ''} {email or ''}")
    return [term(key, VISITOR_MARK), *(term(key, word) for word in found)]


# One statement for all of an entry's terms, passed as one parameter (Piccolo's insert of N objects costs ~1 ms of
# CPU for a dozen words, as much as the rest of storing a message): an array on PostgreSQL, JSON on SQLite.
_INSERT = "INSERT INTO search_term (conversation, message, term) "
INSERT_SQL = {
    "postgres": _INSERT + "SELECT {}, {}, unnest({}::bigint[])",
    "sqlite": _INSERT + "SELECT {}, {}, value FROM json_each({})",
}


async def insert_terms(conversation_id: int, message_id: int | None, terms: list[int]) -> None:
    """Store `terms` for a message (or, `message_id` None, for the conversation's visitor)."""
    engine = SearchTerm._meta.db.engine_type
    values: Any = terms if engine == "postgres" else json.dumps(terms)
    await SearchTerm.raw(INSERT_SQL[engine], conversation_id, message_id, values)


async def index_message(cipher: Cipher, conversation_id: int, message_id: int, sender: str, text: str) -> None:
    """Index a message just stored (inside its transaction: the entries commit with it or not at all). System
    messages hold i18n keys, not words: not indexed."""
    if sender != "system":
        await insert_terms(conversation_id, message_id, message_terms(cipher.index_key, text))


async def index_new_visitor(cipher: Cipher, conversation_id: int, name: str | None, email: str | None) -> None:
    """Index the visitor name and email of a conversation just started (inside its transaction)."""
    await insert_terms(conversation_id, None, visitor_terms(cipher.index_key, name, email))


async def index_visitor(cipher: Cipher, conversation_id: int, name: str | None, email: str | None) -> None:
    """Reindex a conversation's visitor name and email, replacing what was indexed for them before."""
    await SearchTerm.delete().where((SearchTerm.conversation == conversation_id) & SearchTerm.message.is_null())
    await index_new_visitor(cipher, conversation_id, name, email)


@dataclass(frozen=True, slots=True)
class Hit:
    """One conversation found: who, when, and a snippet (pieces of text, `True` for the pieces that matched)."""

    conversation_id: int
    display_name: str
    last_activity_at: datetime
    status: str
    snippet: tuple[tuple[str, bool], ...]
    snippet_sender: str  # visitor | admin | note, or "" when only the name or email matched


class SearchRefused(ValueError):
    """The query has no word to look for (`code`: an i18n key's last part)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def query_words(q: str | None) -> list[str]:
    """The words to look for; SearchRefused("search_empty") when there is none."""
    found = words((q or "")[:500], QUERY_WORDS)
    if not found:
        raise SearchRefused("search_empty")
    return found


async def search(cipher: Cipher, q: str | None, limit: int = RESULTS) -> list[Hit]:
    """Conversations holding every word of `q` (in its messages, visitor name or email), newest activity first."""
    wanted = query_words(q)
    terms = sorted({term(cipher.index_key, word) for word in wanted})
    marks = ", ".join("{}" for _ in terms)
    rows = await Conversation.raw(
        "SELECT c.id, c.display_name, c.last_activity_at, c.status, c.last_preview, c.last_sender FROM conversation c "
        f"WHERE c.id IN (SELECT conversation FROM search_term WHERE term IN ({marks}) "
        "GROUP BY conversation HAVING COUNT(DISTINCT term) = {}) "
        "ORDER BY c.last_activity_at DESC, c.id DESC LIMIT {}",
        *terms,
        len(terms),
        limit,
    )
    if not rows:
        return []
    best = await _best_messages([row["id"] for row in rows], terms)
    bodies = {}
    if best:
        found = await Message.select(Message.id, Message.body, Message.sender).where(
            Message.id.is_in(list(best.values()))
        )
        bodies = {m["id"]: m for m in found}
    hits = []
    for row in rows:
        message = bodies.get(best.get(row["id"], -1))
        if message is not None:
            text, sender = cipher.decrypt(message["body"]), message["sender"]
        else:  # only the name or email matched: the preview (a system message's is an i18n key: none)
            text = cipher.decrypt(row["last_preview"] or "") if row["last_sender"] != "system" else ""
            sender = ""
        hits.append(
            Hit(
                row["id"],
                row["display_name"],
                _moment(row["last_activity_at"]),
                row["status"],
                snippet(text, set(wanted)),
                sender,
            )
        )
    return hits


async def _best_messages(conversations: list[int], terms: list[int]) -> dict[int, int]:
    """Per conversation, the message matching the most words of the query (the newest among equals)."""
    marks = ", ".join("{}" for _ in terms)
    where = ", ".join("{}" for _ in conversations)
    rows = await SearchTerm.raw(
        "SELECT conversation, message, COUNT(DISTINCT term) AS hits FROM search_term "
        f"WHERE conversation IN ({where}) AND term IN ({marks}) AND message IS NOT NULL "
        "GROUP BY conversation, message",
        *conversations,
        *terms,
    )
    best: dict[int, tuple[int, int]] = {}
    for row in rows:
        rank = (row["hits"], row["message"])
        if rank > best.get(row["conversation"], (0, 0)):
            best[row["conversation"]] = rank
    return {conversation: rank[1] for conversation, rank in best.items()}


def snippet(text: str, wanted: set[str], width: int = SNIPPET_CHARS) -> tuple[tuple[str, bool], ...]:
    """Up to `width` characters of `text` around its first matching word, split into (piece, matched) pairs."""
    flat = " ".join(text.split())
    spans = [m.span() for m in _WORD.finditer(flat) if fold(m.group()).strip("_")[:WORD_MAX] in wanted]
    start = max(0, spans[0][0] - width // 3) if spans else 0
    end = min(len(flat), start + width)
    pieces: list[tuple[str, bool]] = [("\u2026", False)] if start > 0 else []
    at = start
    for left, right in spans:
        if left < at or right > end:
            continue
        pieces += [(flat[at:left], False), (flat[left:right], True)]
        at = right
    pieces.append((flat[at:end], False))
    if end < len(flat):
        pieces.append(("\u2026", False))
    return tuple(piece for piece in pieces if piece[0])


def _moment(value: Any) -> datetime:
    """A raw query's timestamp: a datetime on PostgreSQL, ISO text on SQLite."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class Search:
    """GET /admin/search and /api/search: the conversations that hold every word of a query (agents only)."""

    def __init__(self, cipher: Cipher) -> None:
        self._cipher = cipher

    async def find(self, q: str | None, lang: str, limit: int = RESULTS) -> list[Hit]:
        """The hits for `q`, each visitor named as a reader in `lang` sees them; SearchRefused for no word."""
        hits = await search(self._cipher, q, limit)
        return [replace(hit, display_name=visitor_label(hit.display_name, hit.conversation_id, lang)) for hit in hits]
