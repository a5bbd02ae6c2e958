"""SQLite checkpoints in a thread of their own, off the writers' path.

In WAL mode a commit appends its pages to the write-ahead log; a checkpoint copies the log back
into the database file and syncs both to disk. Left to SQLite, the writer whose commit takes the
log past 1,000 pages runs that checkpoint itself, inside its commit, while it holds the writer
lock (`db/sqlite_writes.py`): in the 10,000-instance sync, 44 commits spent 1.2 s there, most of
it waiting for the disk, and no other scope could write meanwhile (docs/sync-engine.md).

Here the end of each write transaction asks the database's `Checkpointer` for a PASSIVE
checkpoint, which a thread runs on a connection of its own, so copying and syncing overlap the
next writer's work. One runs at a time; requests made while it runs make one more run after it.
PASSIVE never waits for readers or writers: what it cannot copy yet (pages a reader still
needs) is copied by a later run. The writers keep SQLite's own automatic checkpoint, at
`WRITER_CHECKPOINT_PAGES`, as the bound on the log should the thread fall behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from urllib.parse import quote

logger = logging.getLogger(__name__)

# A writer checkpoints in its own commit only once the log holds this many pages (SQLite's
# default is 1,000): the thread normally empties it long before.
WRITER_CHECKPOINT_PAGES = 10_000


def checkpointed(database: str | None) -> str | None:
    """The file a database name (a SQLAlchemy URL's) opens, if it gets a checkpointer: a plain
    file path (not in-memory, not a URI, whose options the thread could not honour)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


class Checkpointer:
    """Background PASSIVE checkpoints of the SQLite database file at `path`."""

    def __init__(self, path: str) -> None:
        # Read-write, never create: a database file removed meanwhile is not made again.
        self._uri = f"file:{quote(path)}?mode=rw"
        self._changed = threading.Condition()
        self._requested = False
        self._running = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.runs = 0

    def request(self) -> None:
        """A write transaction ended: checkpoint soon. Never waits for a checkpoint."""
        with self._changed:
            if self._closed:
                return
            self._requested = True
            # A thread that is gone (ended by an unexpected error, or not carried over by a fork)
            # is replaced, so checkpoints never stop for good.
            if self._thread is None or not self._thread.is_alive():
                self._running = False
                # Daemon: a database never disposed of does not keep the process alive.
                self._thread = threading.Thread(
                    target=self._serve, name="sqlite-checkpoints", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is requested or running (False if `timeout` ran out first)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._closed or not (self._requested or self._running), timeout
            )

    def close(self) -> None:
        """Stop the thread, after the checkpoint it is running, and close its connection."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _serve(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._requested or self._closed)
                    if self._closed:
                        return
                    self._requested, self._running = False, True
                try:
                    if connection is None:
                        # timeout=0: the thread never waits on a lock; PASSIVE needs none.
                        connection = sqlite3.connect(
                            self._uri, timeout=0, isolation_level=None, uri=True
                        )
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                except sqlite3.Error as error:
                    # The next request tries again; the writers' own checkpoint bounds the log.
                    logger.warning("a background checkpoint failed: %s", type(error).__name__)
                finally:
                    with self._changed:
                        self._running = False
                        self._changed.notify_all()
        finally:
            if connection is not None:
                connection.close()
