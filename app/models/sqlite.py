"""SQLite for the server: long-lived connections instead of Piccolo's new connection (and thread) per query.

Piccolo's SQLiteEngine opens an aiosqlite connection — a new OS thread, a file open, a PRAGMA — for every query
outside a transaction; profiling put more than half of the CPU time per chat message there. This engine keeps:
- one writer connection for every transaction and every statement that is not a SELECT, taken under an asyncio
  lock, so writers in this process queue up fairly instead of polling SQLite's busy handler;
- a few reader connections for SELECTs outside a transaction (WAL: readers never wait for the writer and each
  SELECT sees the last commit).
Other processes (the CLI, a second server) still meet SQLite's own lock and busy timeout. Migrations and the
piccolo CLI keep the stock engine.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

READERS = 2


class PooledTransaction(SQLiteTransaction):
    """A transaction on the engine's writer connection, holding the writer lock from BEGIN to COMMIT/ROLLBACK."""

    engine: PooledSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.engine.take_writer()
        try:
            await self.begin()
        except BaseException:
            self.engine.release_writer()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.current_transaction.reset(self.context)
            self.engine.release_writer()
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    def __init__(self, path: str, readers: int = READERS, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._write_lock: asyncio.Lock | None = None
        self._idle_readers: list[aiosqlite.Connection] = []
        self._readers_made = 0
        self._reader_freed: asyncio.Condition | None = None
        self._file_identity: tuple[int, int] | None = None

    async def _open(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        # aiosqlite types row_factory as `type | None`; sqlite3 takes any (cursor, row) callable.
        connection.row_factory = dict_factory  # type: ignore[assignment]
        # Per connection, not per statement (Piccolo repeats foreign_keys before every query). synchronous=NORMAL
        # is safe with WAL: a crash of the process loses nothing committed; a power cut can lose the last commits.
        await connection.execute("PRAGMA foreign_keys = 1")
        await connection.execute("PRAGMA synchronous = NORMAL")
        if self._file_identity is None:
            stat = os.stat(self.path)
            self._file_identity = (stat.st_dev, stat.st_ino)
        return connection

    def file_is_current(self) -> bool:
        """False when the database file was deleted or replaced under the open connections (they would go on
        reading and writing the old, unlinked file)."""
        if self._file_identity is None:
            return True
        try:
            stat = os.stat(self.path)
        except OSError:
            return False
        return (stat.st_dev, stat.st_ino) == self._file_identity

    # -- the writer --------------------------------------------------------------------------------------

    async def take_writer(self) -> aiosqlite.Connection:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        await self._write_lock.acquire()
        try:
            if self._writer is None:
                self._writer = await self._open()
            elif self._writer.in_transaction:
                # A holder cancelled between statements left a transaction open: it never finished, undo it.
                await self._writer.rollback()
        except BaseException:
            self._write_lock.release()
            raise
        return self._writer

    def release_writer(self) -> None:
        assert self._write_lock is not None
        self._write_lock.release()

    # -- readers -----------------------------------------------------------------------------------------

    async def _take_reader(self) -> aiosqlite.Connection:
        if self._reader_freed is None:
            self._reader_freed = asyncio.Condition()
        async with self._reader_freed:
            while not self._idle_readers and self._readers_made >= self._reader_count:
                await self._reader_freed.wait()
            if self._idle_readers:
                return self._idle_readers.pop()
            self._readers_made += 1
        try:
            return await self._open()
        except BaseException:
            self._readers_made -= 1
            raise

    async def _give_back_reader(self, connection: aiosqlite.Connection) -> None:
        assert self._reader_freed is not None
        async with self._reader_freed:
            self._idle_readers.append(connection)
            self._reader_freed.notify()

    # -- Piccolo's hooks ---------------------------------------------------------------------------------

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return PooledTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None, query_type: str = "generic", table=None
    ) -> Any:
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table=None
    ) -> Any:
        if query.lstrip()[:6].upper() == "SELECT":
            reader = await self._take_reader()
            try:
                async with reader.execute(query, args or []) as cursor:
                    return await cursor.fetchall()
            finally:
                await asyncio.shield(self._give_back_reader(reader))
        writer = await self.take_writer()
        try:
            try:
                async with writer.execute(query, args or []) as cursor:
                    rows = await cursor.fetchall()
                await writer.commit()
            except BaseException:
                if writer.in_transaction:
                    await writer.rollback()
                raise
            return rows
        finally:
            self.release_writer()

    async def close(self) -> None:
        """Close every connection (each is a thread that would keep the process alive)."""
        connections = [*self._idle_readers, *([self._writer] if self._writer else [])]
        self._idle_readers, self._writer, self._readers_made = [], None, 0
        for connection in connections:
            await connection.close()
