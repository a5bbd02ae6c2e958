"""SQLite: an online, consistent copy with SQLite's backup API (the server may keep writing;
WAL readers do not block it), and restore by the same API into the target file."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from stratograph.backup.container import BackupFileError
from stratograph.backup.snapshot import SnapshotFacts, quote_identifier

BUSY_TIMEOUT_MS = 30_000


def database_path(database_url: str) -> Path:
    url = make_url(database_url)
    if not url.database or url.database == ":memory:":
        raise BackupFileError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        yield connection
    finally:
        connection.close()


def snapshot(database_url: str, target: Path) -> SnapshotFacts:
    """Copy the live database into `target` in one step (one consistent read transaction)."""
    source_path = database_path(database_url)
    if not source_path.exists():
        raise BackupFileError(f"the SQLite database {source_path} does not exist")
    with _connect(source_path) as source, _connect(target) as copy:
        source.backup(copy)  # pages=-1: all pages in one step, a single snapshot
    with _connect(target) as copy:
        return facts(copy)


def facts(connection: sqlite3.Connection) -> SnapshotFacts:
    tables = [
        str(name)
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    counts = {}
    for table in tables:
        statement = f"SELECT count(*) FROM {quote_identifier(table)}"  # noqa: S608
        counts[table] = int(connection.execute(statement).fetchone()[0])
    revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    keys = dict(
        connection.execute("SELECT key_id, count(*) FROM cloud_credentials GROUP BY key_id")
    )
    return SnapshotFacts(
        schema_revision=str(revision[0]) if revision else "",
        row_counts=counts,
        credentials_per_key={str(k): int(v) for k, v in keys.items()},
    )


def restore(snapshot_file: Path, database_url: str) -> None:
    """Replace the target database's content with the snapshot, in one backup step."""
    target = database_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _connect(snapshot_file) as source, _connect(target) as destination:
        source.backup(destination)


def row_counts(database_url: str) -> dict[str, int]:
    with _connect(database_path(database_url)) as connection:
        return facts(connection).row_counts
