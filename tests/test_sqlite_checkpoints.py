"""SQLite checkpoints run in a thread of their own: the log is copied back into the database
file after write transactions, not by a writer inside its commit, and the thread ends with the
database."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import Database, create_engine
from db.sqlite_checkpoints import WRITER_CHECKPOINT_PAGES, checkpointed

_PAYLOAD = "x" * 4_000


def _checkpoint_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "sqlite-checkpoints" and t.is_alive()}


async def _database(path: Path) -> Database:
    database = Database(create_engine(f"sqlite+aiosqlite:///{path}"))
    async with database.system_session() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    return database


async def test_the_log_is_copied_into_the_database_file_after_the_writes(tmp_path: Path) -> None:
    # Given a SQLite file database
    path = tmp_path / "checkpoints.db"
    database = await _database(path)
    before = path.stat().st_size
    try:
        # When a few transactions write about 2 MB (fewer pages than a writer's own
        # checkpoint waits for, so none of them checkpoints in its commit)
        for start in range(0, 500, 100):
            async with database.system_session() as session:
                await session.execute(
                    text("INSERT INTO notes (id, body) VALUES (:id, :body)"),
                    [{"id": start + n, "body": _PAYLOAD} for n in range(100)],
                )
        assert database.checkpoints is not None
        assert await asyncio.to_thread(database.checkpoints.wait_idle, 30)
        # Then the pages are in the database file itself, not only in its log
        assert path.stat().st_size - before >= 500 * len(_PAYLOAD)
        async with database.system_session() as session:
            count = (await session.execute(text("SELECT count(*) FROM notes"))).scalar()
        assert count == 500
    finally:
        await database.dispose()


async def test_writers_checkpoint_themselves_only_past_the_bound(tmp_path: Path) -> None:
    # Given a SQLite file database
    database = await _database(tmp_path / "bound.db")
    try:
        # When a session asks its connection how far the log may grow before its commit
        # checkpoints
        async with database.system_session() as session:
            pages = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
        # Then it is the bound, not SQLite's 1,000 pages
        assert pages == WRITER_CHECKPOINT_PAGES > 1_000
    finally:
        await database.dispose()


async def test_the_thread_ends_with_the_database(tmp_path: Path) -> None:
    # Given a SQLite file database that has written, so its checkpoint thread runs
    earlier = _checkpoint_threads()
    database = await _database(tmp_path / "ends.db")
    started = _checkpoint_threads() - earlier
    assert len(started) == 1
    # When the database is disposed of
    await database.dispose()
    # Then its thread has ended, and a later request starts nothing
    assert not any(thread.is_alive() for thread in started)
    assert database.checkpoints is not None
    database.checkpoints.request()
    assert _checkpoint_threads() - earlier == set()


@pytest.mark.parametrize(
    ("name", "path"),
    [(None, None), ("", None), (":memory:", None), ("file:x.db?mode=memory", None)],
)
def test_only_a_plain_file_database_gets_a_checkpoint_thread(
    name: str | None, path: str | None
) -> None:
    assert checkpointed(name) == path
