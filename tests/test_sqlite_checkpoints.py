"""SQLite checkpoints run in a thread of their own: the log is copied back into the database
file after write transactions, not by a writer inside its commit, and the thread ends with the
database."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database, create_engine
from db.sqlite_checkpoints import WRITER_CHECKPOINT_PAGES, Checkpointer, checkpointed

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


def test_a_thread_ended_by_an_unexpected_error_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a database file in WAL mode whose checkpoint thread died of an error it does not
    # expect
    path = tmp_path / "replaced.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE notes (body TEXT)")
    checkpoints = Checkpointer(str(path))
    earlier = _checkpoint_threads()

    def broken(*_args: Any, **_kwargs: Any) -> sqlite3.Connection:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(threading, "excepthook", lambda _args: None)
    with monkeypatch.context() as patched:
        patched.setattr(sqlite3, "connect", broken)
        checkpoints.request()
        (dying,) = _checkpoint_threads() - earlier
        dying.join(30)
    assert not dying.is_alive() and checkpoints.runs == 0
    try:
        # When the next write transaction ends
        checkpoints.request()
        # Then a new thread runs the checkpoint
        assert checkpoints.wait_idle(30)
        assert checkpoints.runs == 1
    finally:
        checkpoints.close()
