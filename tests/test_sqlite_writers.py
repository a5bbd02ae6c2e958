"""SQLite write transactions: concurrent writers of one process queue for the write lock in order
instead of polling SQLite's lock until the busy timeout, and a locking read is already inside
the write transaction (db/sqlite_writes.py).

The busy timeout is set to 0 here: any wait for SQLite's own lock fails at once, so these tests
fail whenever two writers of this process meet at the lock, however fast the machine is.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from db.engine import Database, create_engine
from db.enums import Role, SyncJobStatus
from db.models import CloudResourceRow, UserRow
from db.sqlite_writes import WriterLock
from providers.base import Scope
from tests.databases import SqliteTemplate
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    make_service,
    record,
    resources,
    sync_once,
)


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 0")
    cursor.close()


@pytest.fixture
async def sqlite_database(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> AsyncIterator[tuple[Database, Path]]:
    url = sqlite_template.clone(tmp_path)
    engine = create_engine(url)
    event.listen(engine.sync_engine, "connect", _no_busy_wait)
    database = Database(engine)
    yield database, Path(url.removeprefix("sqlite+aiosqlite:///"))
    await database.dispose()


async def _user(database: Database) -> UserRow:
    user = UserRow(id=uuid.uuid4(), email=f"u-{uuid.uuid4().hex[:8]}@example.com",
                   full_name="Writer", password_hash="!", role=Role.USER)  # fmt: skip
    async with database.system_session() as session:
        session.add(user)
    return user


async def test_eight_scopes_writing_at_once_all_succeed_without_waiting_on_sqlite(
    sqlite_database: tuple[Database, Path],
) -> None:
    # given a credential whose cloud lists 16 scopes of 200 resources, written 8 at a time
    database, _ = sqlite_database
    user = await _user(database)
    credential = await create_credential(database, user)
    listings = {
        Scope(f"region-{n:02d}", "AWS::EC2::Instance"): [
            record(f"i-{n:02d}-{i:04d}", Scope(f"region-{n:02d}", "AWS::EC2::Instance"))
            for i in range(200)
        ]
        for n in range(16)
    }
    inventory = ScriptedInventory(listings)
    service = make_service(database, {credential.id: inventory}, concurrency=8)
    # when it is synced twice (the second sync reads and updates what the first stored)
    first = await sync_once(service, credential.id)
    second = await sync_once(service, credential.id)
    # then no scope failed on the lock: every one was written, both times
    assert (first.status, first.errors) == (SyncJobStatus.SUCCEEDED, [])
    assert (second.status, second.errors) == (SyncJobStatus.SUCCEEDED, [])
    assert (first.added, second.updated) == (3200, 3200)
    stored = await resources(database, credential.id)
    assert len(stored) == 3200 and all(row.deleted_at is None for row in stored.values())


async def test_a_locking_read_holds_the_write_lock_until_the_commit(
    sqlite_database: tuple[Database, Path],
) -> None:
    # given a transaction whose first statement is a SELECT … FOR UPDATE
    database, path = sqlite_database
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with database.system_session() as session:
            locking = select(func.count()).select_from(CloudResourceRow).with_for_update()
            await session.execute(locking)
            # when another connection (another process, say) tries to write meanwhile
            # then it cannot: the read already holds SQLite's write lock
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        # and once the transaction commits, the other connection writes
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_readers_are_not_queued_behind_an_open_write_transaction(
    sqlite_database: tuple[Database, Path],
) -> None:
    # given a write transaction left open (it inserted a user and has not committed)
    database, _ = sqlite_database
    before = await _user(database)
    async with database.system_session() as writer:
        writer.add(UserRow(id=uuid.uuid4(), email="pending@example.com", full_name="Pending",
                           password_hash="!", role=Role.USER))  # fmt: skip
        await writer.flush()
        # when another session of the same process reads
        async with database.system_session() as reader:
            seen = (await reader.scalars(select(UserRow.email))).all()
        # then it reads at once, the committed rows only
        assert seen == [before.email]


async def test_a_task_cancelled_as_the_writer_lock_reaches_it_stops() -> None:
    # given a writer holding the lock and a second task waiting for it
    lock = WriterLock(timeout=30)
    await lock.acquire()
    went_on = asyncio.Event()

    async def second_writer() -> None:
        await lock.acquire()
        went_on.set()

    task = asyncio.create_task(second_writer())
    for _ in range(3):  # a few steps of the loop: enough for it to wait in the lock
        await asyncio.sleep(0)
    assert getattr(lock._lock(), "_waiters", None), "the second writer waits for the lock"
    # when the lock is handed over and the waiting task is cancelled in the same step
    lock.release()
    task.cancel()
    # then the task stops (the cancellation is not lost) and never went on holding the lock
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not went_on.is_set()
    # and the lock is free for the next writer
    await asyncio.wait_for(lock.acquire(), 1)
    lock.release()
