"""Engine and session factory for one process; every session states whose data it may touch."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from db import bulk, sqlite_driver, sqlite_writes
from db.sqlite_checkpoints import WRITER_CHECKPOINT_PAGES, Checkpointer, checkpointed
from db.tls import apply_libpq_tls

SYSTEM_ROLE = "system"
# How long a SQLite transaction waits for the other writers of this process before failing. Not
# a load limit (writers queue in order, each holding the lock for one transaction), only what
# turns a task waiting for a transaction it holds open itself into an error instead of a hang.
_WRITER_WAIT_SECONDS = 300.0


def create_engine(database_url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine tuned per backend (SQLite: WAL, foreign keys, busy timeout, and write
    transactions that begin IMMEDIATE, `db/sqlite_writes.py`)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
            hide_parameters=True,
            json_serializer=json_text,
            **_sqlite_pool(url.database, pool_size),
        )
        sqlite_driver.install(engine.sync_engine)
        bulk.install(engine.sync_engine)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        # Statement parameters hold password hashes, ciphertexts and token digests: keep them
        # out of every exception message and log line SQLAlchemy writes.
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: with asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) on every
        # checkout, more than most read requests spend on their own queries. A connection the
        # server dropped fails its first statement, SQLAlchemy invalidates the pool, and the
        # next request reconnects; recycling bounds a connection's age meanwhile.
        pool_recycle=1800,
        # JSON columns (tags, metadata) are read on every inventory row: orjson parses them
        # several times faster than the standard library.
        json_deserializer=orjson.loads,
        json_serializer=json_text,
    )
    bulk.install(engine.sync_engine)
    return engine


def json_text(value: Any) -> str:
    """JSON columns' text: orjson, several times faster than the standard library on the
    write path's three JSON columns a resource plus its change record and findings. What orjson
    refuses (a lone surrogate, an integer beyond 64 bits) goes to the standard library, which
    stored it before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def _sqlite_pool(database: str | None, pool_size: int) -> dict[str, Any]:
    """A file database keeps up to `pool_size` idle connections: opening one costs a driver
    thread, the connect and three PRAGMAs (`python -m bench sqlite_sessions`: 1.67 ms a session
    of one query unpooled, 0.41 ms pooled; `docs/sync-engine.md`). Overflow is unbounded,
    as without a pool, so a session never waits for a connection, only for the writer lock. An
    in-memory database is one per connection, so nothing there is worth keeping."""
    if not database or database == ":memory:":
        return {"poolclass": NullPool}
    return {"poolclass": AsyncAdaptedQueuePool, "pool_size": pool_size, "max_overflow": -1}


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoints run in the background (db/sqlite_checkpoints.py); a writer's own is the bound.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
    cursor.close()
    sqlite_writes.connected(dbapi_connection)


class Database:
    """Owns the engine; hands out sessions that carry the acting user into the transaction.

    On PostgreSQL the acting user is written with `set_config(..., is_local => true)` at the start
    of each transaction, and row-level security policies read it. On SQLite the same isolation
    comes from `db.scoping`, which every query goes through.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        apply_libpq_tls(engine)  # DATABASE_URL may carry libpq's sslmode/sslrootcert
        self.is_postgres = engine.dialect.name == "postgresql"
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # SQLite: this process's writers take the database's write lock in turn (db/sqlite_writes).
        self._writers = (
            None
            if self.is_postgres
            else sqlite_writes.install(engine.sync_engine, _WRITER_WAIT_SECONDS)
        )
        # A SQLite file's checkpoints run in a thread of their own (db/sqlite_checkpoints.py).
        path = None if self.is_postgres else checkpointed(engine.url.database)
        self.checkpoints = Checkpointer(path) if path else None
        # Told of each statement sent on a driver connection directly (bypassing SQLAlchemy's
        # events), so statement counts and tests see those too.
        self.driver_listeners: list[Callable[[str], None]] = []

    def driver_statement(self, statement: str) -> None:
        for listener in self.driver_listeners:
            listener(statement)

    @asynccontextmanager
    async def session(
        self, user_id: uuid.UUID | None, *, is_admin: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A transaction acting for `user_id` (None: anonymous, sees no owned rows)."""
        role = "admin" if is_admin else "user"
        async with self._transaction(str(user_id) if user_id else "", role) as session:
            yield session

    @asynccontextmanager
    async def system_session(self) -> AsyncIterator[AsyncSession]:
        """A transaction for trusted internal work: log-in lookups, sync workers, key rotation."""
        async with self._transaction("", SYSTEM_ROLE) as session:
            yield session

    @asynccontextmanager
    async def _transaction(self, user_id: str, role: str) -> AsyncIterator[AsyncSession]:
        if self._writers is None:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    select(
                        func.set_config("app.user_id", user_id, True),
                        func.set_config("app.role", role, True),
                    )
                )
                yield session
            return
        hold = sqlite_writes.WriterHold(self._writers)
        try:
            async with self._sessions() as session, session.begin():
                connection = await session.connection()
                sqlite_writes.attach(connection.info, hold)
                yield session
        finally:
            if hold.held and self.checkpoints is not None:
                self.checkpoints.request()
            hold.give_back()  # after the commit or rollback, and the connection's return

    async def ping(self) -> bool:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        if self.checkpoints is not None:
            await asyncio.to_thread(self.checkpoints.close)
        await self.engine.dispose()
