"""`sohbet reindex`: rebuild the search index (app/services/search.py) from the encrypted messages and the visitors'
names and emails, under the index key the settings give now (derived from SECRET_KEY).

When: after SECRET_KEY changed (every term was hashed under the old key, so nothing is found until this runs), after
upgrading to the version that brought search (older messages have no entries), or after restoring a backup made
under another SECRET_KEY. Restart the servers with the new settings first, so that what they write from then on is
under the new key too.

Like `sohbet rotate-keys` it is safe while servers run and can be interrupted at any point: messages, then
conversations, are read in id order `batch_size` at a time; each batch is written in one short transaction that
replaces the entries of the rows that lack the current key's marker term (see the module docstring of
app/services/search.py), so a re-run only does what is left. A message that no configured ENCRYPTION_KEYS key
decrypts is reported by id (never its content) and left for a later run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from piccolo.engine.base import Engine

from app.models import Conversation, Message, SearchTerm
from app.models.db import bind_tables, close_engine, is_sqlite, make_engine, open_engine, write_transaction
from app.services import search
from app.services.crypto import Cipher
from app.settings import Settings

Report = Callable[[str], None]
UNREADABLE = "\ufffd"  # what Cipher.decrypt gives for a token no key decrypts


class ReindexError(RuntimeError):
    """The rebuild cannot start (no database, or not migrated); the message is one line."""


@dataclass
class ReindexResult:
    messages: int = 0  # checked
    indexed: int = 0  # messages (re)indexed by this run
    already: int = 0  # already indexed under the current key
    conversations: int = 0
    visitors: int = 0  # conversations whose visitor entries were (re)written
    unreadable: list[int] = field(default_factory=list)  # message ids

    @property
    def ok(self) -> bool:
        return not self.unreadable


async def reindex(
    settings: Settings, *, batch_size: int = 500, pause: float = 0.0, report: Report = print, warn: Report = print
) -> ReindexResult:
    """Index every message and visitor not yet indexed under the current key (see the module docstring)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if settings.database_url.startswith("sqlite:///") and not settings.sqlite_path.is_file():
        raise ReindexError(f"the database file {settings.sqlite_path} does not exist (check DATABASE_URL)")
    cipher = Cipher(settings.encryption_keys, index_key=search.index_key(settings.secret_key))
    engine = make_engine(settings.database_url)
    bind_tables(engine)
    await open_engine(engine, pool_size=2)
    result = ReindexResult()
    try:
        try:
            await SearchTerm.count()
        except Exception as exc:  # no such table: not a Sohbet database, or not migrated to this version
            raise ReindexError(
                f"the database has no search index (run `sohbet migrate`?): {type(exc).__name__}"
            ) from exc
        job = _Job(engine, cipher, result, warn)
        await job.messages(batch_size, pause, report)
        await job.visitors(batch_size, pause, report)
    finally:
        await close_engine(engine)
    return result


class _Job:
    def __init__(self, engine: Engine, cipher: Cipher, result: ReindexResult, warn: Report) -> None:
        self.engine = engine
        self.cipher = cipher
        self.result = result
        self.warn = warn
        self.lock = "" if is_sqlite(engine) else " FOR KEY SHARE"  # SQLite: the IMMEDIATE transaction excludes writers

    async def _marked(self, column: Any, ids: list[int], mark: str) -> set[int]:
        marker = search.term(self.cipher.index_key, mark)
        rows = await SearchTerm.select(column).where(column.is_in(ids) & (SearchTerm.term == marker))
        return {row[column._meta.name] for row in rows}

    async def messages(self, batch_size: int, pause: float, report: Report) -> None:
        total, last = await Message.count(), 0
        while True:
            rows = await (
                Message.select(Message.id, Message.conversation, Message.sender, Message.body)
                .where(Message.id > last)
                .order_by(Message.id)
                .limit(batch_size)
            )
            if not rows:
                break
            last = rows[-1]["id"]
            done = await self._marked(SearchTerm.message, [row["id"] for row in rows], search.MESSAGE_MARK)
            entries: dict[int, tuple[int, list[int]]] = {}
            for row in rows:
                self.result.messages += 1
                if row["id"] in done:
                    self.result.already += 1
                    continue
                if row["sender"] == "system":  # i18n keys, never indexed
                    continue
                text = self.cipher.decrypt(row["body"])
                if text == UNREADABLE and row["body"]:
                    self.result.unreadable.append(row["id"])
                    self.warn(f"reindex: message id={row['id']}: no configured key decrypts it; left for a later run")
                    continue
                entries[row["id"]] = (row["conversation"], search.message_terms(self.cipher.index_key, text))
            self.result.indexed += await self._write("message", SearchTerm.message, entries, by_message=True)
            report(
                f"reindex: messages: {self.result.messages}/{max(total, self.result.messages)} checked, "
                f"{self.result.indexed} indexed"
            )
            if pause > 0:
                await asyncio.sleep(pause)

    async def visitors(self, batch_size: int, pause: float, report: Report) -> None:
        total, last = await Conversation.count(), 0
        while True:
            rows = await (
                Conversation.select(Conversation.id, Conversation.display_name, Conversation.email)
                .where(Conversation.id > last)
                .order_by(Conversation.id)
                .limit(batch_size)
            )
            if not rows:
                break
            last = rows[-1]["id"]
            done = await self._marked(SearchTerm.conversation, [row["id"] for row in rows], search.VISITOR_MARK)
            entries = {
                row["id"]: (
                    row["id"],
                    search.visitor_terms(
                        self.cipher.index_key, row["display_name"], self.cipher.decrypt(row["email"] or "")
                    ),
                )
                for row in rows
                if row["id"] not in done
            }
            self.result.conversations += len(rows)
            self.result.visitors += await self._write(
                "conversation", SearchTerm.conversation, entries, by_message=False
            )
            report(
                f"reindex: conversations: {self.result.conversations}/{max(total, self.result.conversations)} "
                f"checked, {self.result.visitors} indexed"
            )
            if pause > 0:
                await asyncio.sleep(pause)

    async def _write(
        self, table: str, column: Any, entries: dict[int, tuple[int, list[int]]], *, by_message: bool
    ) -> int:
        """Replace the entries of these rows (message ids, or conversation ids for visitor entries) in one
        transaction; rows deleted meanwhile are skipped. Returns how many rows were written."""
        if not entries:
            return 0
        ids = list(entries)
        marks = ", ".join("{}" for _ in ids)
        async with write_transaction(self.engine):
            # Locks the rows still there until commit, so none goes between this check and the inserts.
            alive = await SearchTerm.raw(f"SELECT id FROM {table} WHERE id IN ({marks}){self.lock}", *ids)
            stale = column.is_in(ids) if by_message else column.is_in(ids) & SearchTerm.message.is_null()
            await SearchTerm.delete().where(stale)
            for row in alive:
                conversation_id, terms = entries[row["id"]]
                await search.insert_terms(conversation_id, row["id"] if by_message else None, terms)
        return len(alive)


def command(settings_of: Callable[[], Settings]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        def say(line: str) -> None:
            print(line, flush=True)

        def complain(line: str) -> None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

        try:
            result = asyncio.run(
                reindex(settings_of(), batch_size=args.batch_size, pause=args.pause, report=say, warn=complain)
            )
        except ReindexError as error:
            complain(f"sohbet: reindex: {error}")
            return 1
        say(
            f"reindex: done: {result.indexed} messages and {result.visitors} visitors indexed, {result.already} "
            f"messages already were ({result.messages} messages, {result.conversations} conversations checked)"
        )
        if result.unreadable:
            ids = ", ".join(str(i) for i in result.unreadable[:10])
            complain(
                f"sohbet: reindex: {len(result.unreadable)} message(s) could not be decrypted (ids {ids}); "
                "every other message was indexed"
            )
        return 0 if result.ok else 1

    return run


def register(
    commands: Any,
    make_command: Callable[..., argparse.ArgumentParser],
    settings_of: Callable[[], Settings],
    positive_int: Callable[[str], float],
    seconds: Callable[[str], float],
) -> None:
    """The `reindex` command, on the `sohbet` parser."""
    parser = make_command(
        commands,
        "reindex",
        command(settings_of),
        help="rebuild the search index under the current SECRET_KEY (after changing it, upgrading or restoring)",
        description="Indexes every message and visitor name and email that is not yet in the search index under\n"
        "the key derived from the current SECRET_KEY. Run it after changing SECRET_KEY (restart the servers\n"
        "first: until it is done, older conversations are not found), after upgrading to the version that brought\n"
        "search, or after restoring a backup made under another SECRET_KEY.\n\n"
        "Safe while the servers run (batch by batch, short transactions). Interrupted? Run it again: what is\n"
        "already indexed under the current key is skipped. A message no ENCRYPTION_KEYS key decrypts is reported\n"
        "by id (never its content) and the command exits 1.",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=500, metavar="N", help="rows per transaction (default: 500)"
    )
    parser.add_argument(
        "--pause",
        type=seconds,
        default=0.0,
        metavar="SECONDS",
        help="sleep between batches, to leave room for a busy live server (default: 0)",
    )
