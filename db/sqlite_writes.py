"""SQLite write transactions: one writer at a time per database in this process, taken in order.

SQLite has one write lock per database file. Left to the driver, a transaction takes it at its
first write (`BEGIN` DEFERRED, then the write asks for the lock) and waits for it by polling
inside its own thread until the busy timeout: nothing orders the waiters, so with many scopes
writing at once one of them can lose every round and fail with "database is locked" however
briefly each writer holds the lock. And a read made before the first write runs outside the
transaction, so a read-then-write (the upsert's read of the stored rows) could see rows another
writer was about to change.

Here a connection's transaction begins at its first statement that writes or reads to write
(`SELECT … FOR UPDATE`, which the SQLite dialect otherwise ignores): it first waits for the
database's in-process writer lock (an asyncio lock: first come, first served, waiting in the
event loop rather than in a thread), then begins with `BEGIN IMMEDIATE`, which takes SQLite's
write lock at once. The busy timeout is then only ever spent waiting for another process. The
writer lock belongs to the session (`Database.session` / `system_session`), which gives it back
when it ends, after its commit or rollback, however it ends (a cancelled task included). Reads
that come before a transaction's first write still run outside it, as before, so readers never
queue behind writers (WAL lets them read while one writes).

Before a write the driver begins the transaction itself, as `BEGIN IMMEDIATE` since its
`isolation_level` says so, in the same call as the write; before a locking read or DDL the
`BEGIN IMMEDIATE` is sent on the driver connection. Neither is one of the statements SQLAlchemy's
events (and the statement counts) see, like the driver's `BEGIN` before.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.util import await_

_HOLD = "stratograph_writer_hold"
_IN_WRITE = "stratograph_write_transaction"
_WRITE, _LOCKING = "write", "locking"
# Statements sent as text, by their first word: those the driver begins a transaction for, and
# other writes (DDL, and a savepoint, which opens a transaction of its own).
_DRIVER_BEGINS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})
_OTHER_WRITES = frozenset({"CREATE", "DROP", "ALTER", "SAVEPOINT"})


class WriterLock:
    """The in-process writer lock of one SQLite database (one asyncio lock per event loop: an
    engine may outlive the loop that first used it, as in tests and CLI commands)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def acquire(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the lock, and swallows
        # the cancellation, when the task is cancelled as the lock is handed over, and a
        # stopping task would then go on as if never asked to stop.
        try:
            async with asyncio.timeout(self.timeout):
                await self._lock().acquire()
        except TimeoutError:
            # A transaction waiting for one this same task holds open would wait for ever:
            # fail like SQLite's own busy timeout would have.
            raise OperationalError(
                "BEGIN IMMEDIATE", None, TimeoutError("database is locked")
            ) from None

    def release(self) -> None:
        self._lock().release()


class WriterHold:
    """One session's claim on the writer lock: taken at its first write, given back at its end."""

    def __init__(self, lock: WriterLock) -> None:
        self._lock = lock
        self.held = False

    async def take(self) -> None:
        if not self.held:
            await self._lock.acquire()
            self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._lock.release()


def attach(connection_info: dict[Any, Any], hold: WriterHold) -> None:
    """Let the statements of a connection (its `info`) take the writer lock through `hold`."""
    connection_info[_HOLD] = hold


def _kind(statement: str, context: Any) -> str | None:
    """WRITE: a statement before which the driver itself begins a transaction (with
    `isolation_level = "IMMEDIATE"`, as `BEGIN IMMEDIATE`); LOCKING: one that needs the write
    lock but on which the driver would not begin (a locking read, DDL, a savepoint); None: a
    plain read."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return _WRITE
    compiled = getattr(context, "compiled", None)
    # A locking read reads in order to write: PostgreSQL locks the rows, SQLite the file.
    if getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None:
        return _LOCKING
    if context is not None and context.isddl:
        return _LOCKING
    words = statement.lstrip().split(None, 1)
    first = words[0].upper() if words else ""
    if first in _DRIVER_BEGINS:
        return _WRITE
    return _LOCKING if first in _OTHER_WRITES else None


def connected(dbapi_connection: Any) -> None:
    """On each new connection: the driver's implicit transactions begin IMMEDIATE."""
    dbapi_connection.isolation_level = "IMMEDIATE"


def install(engine: Engine, timeout: float) -> WriterLock:
    """Give `engine` (a SQLite engine) write transactions that begin with `BEGIN IMMEDIATE` at
    their first write; returns its writer lock, which sessions take through a `WriterHold`
    attached to their connection."""
    writers = WriterLock(timeout)

    def before_cursor_execute(
        conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        info = conn.info
        if info.get(_IN_WRITE):
            return
        kind = _kind(statement, context)
        if kind is None:
            return
        hold = info.get(_HOLD)
        if hold is not None:
            await_(hold.take())
        info[_IN_WRITE] = True
        if kind == _LOCKING:
            driver = conn.connection.dbapi_connection
            if driver is None:
                return  # a closed connection: the statement itself fails
            cursor = driver.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
            finally:
                cursor.close()

    def ended(conn: Connection) -> None:
        # An invalidated connection (a statement interrupted, by a cancelled task say) has no
        # info to clear, and asking for it would raise in place of what interrupted it.
        if not conn.invalidated:
            conn.info.pop(_IN_WRITE, None)

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(_IN_WRITE, None)
        record.info.pop(_HOLD, None)

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    event.listen(engine.pool, "checkin", checkin)
    return writers
