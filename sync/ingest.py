"""Ingesting a listing: every record normalized (`providers.sanitize`), one row per resource id,
and a batch the database refuses split until the refused records are alone, so they are skipped
and the rest of the scope is written. What changed or was skipped goes to the scope's report.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CloudResourceRow
from providers.base import ResourceRecord
from providers.sanitize import DUPLICATE_ID, MAX_ID, Rejected, normalize_record
from sync.aggregates import DIMENSIONS, returned
from sync.report import IngestReport

logger = logging.getLogger("stratograph.sync")
REFUSED = "The database refused the resource even after normalization; it was not stored."
# Writes one batch: (added, updated, ids already written by this listing).
BatchWriter = Callable[
    [AsyncSession, list[dict[str, Any]], datetime], Awaitable[tuple[int, int, list[str]]]
]


def normalized(
    records: list[ResourceRecord], report: IngestReport
) -> tuple[dict[str, ResourceRecord], list[str]]:
    """One normalized record per resource id (a duplicate inside one INSERT … ON CONFLICT fails
    on PostgreSQL; the last one listed wins), and the ids of records that were rejected."""
    unique: dict[str, ResourceRecord] = {}
    skipped_ids: list[str] = []
    for record in records:
        outcome = normalize_record(record)
        if isinstance(outcome, Rejected):
            report.skip(outcome.resource_id, outcome.reason)
            if outcome.resource_id is not None and len(outcome.resource_id) <= MAX_ID:
                skipped_ids.append(outcome.resource_id)
            continue
        clean = outcome.record
        for code in outcome.changes:
            report.changed(code, clean.resource_id)
        if clean.resource_id in unique:
            report.changed(DUPLICATE_ID, clean.resource_id)
            del unique[clean.resource_id]  # keeps listing order: the last copy goes last
        unique[clean.resource_id] = clean
    return unique, skipped_ids


async def write_isolating(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    seen_at: datetime,
    report: IngestReport,
    skipped_ids: list[str],
    upsert_batch: BatchWriter,
) -> tuple[int, int, list[str]]:
    """Upsert a batch; if the database refuses it, split it until the refused rows are alone,
    skip those and write the rest. PostgreSQL aborts a transaction on any error, so each
    attempt runs inside a SAVEPOINT there; SQLite undoes just the failed statement."""
    try:
        async with _savepoint(session):
            return await upsert_batch(session, rows, seen_at)
    except StatementError as error:
        if not _refused_data(error):
            raise  # the database itself failed (connection, lock timeout): the scope fails
        if len(rows) == 1:
            resource_id = rows[0]["resource_id"]
            cause = type(error.orig).__name__ if error.orig is not None else type(error).__name__
            logger.warning("a resource was refused by the database: %s", cause)
            report.skip(resource_id, REFUSED)
            skipped_ids.append(resource_id)
            return 0, 0, []
    middle = len(rows) // 2
    first = await write_isolating(
        session, rows[:middle], seen_at, report, skipped_ids, upsert_batch
    )
    second = await write_isolating(
        session, rows[middle:], seen_at, report, skipped_ids, upsert_batch
    )
    return first[0] + second[0], first[1] + second[1], first[2] + second[2]


def _refused_data(error: StatementError) -> bool:
    """Whether the database refused the values (not a failure of the database itself)."""
    if not isinstance(error, DBAPIError):
        return True  # raised while binding parameters, before the database saw them
    if isinstance(error, DataError | IntegrityError):
        return True
    # asyncpg's data exceptions arrive as a generic error carrying their SQLSTATE: class 22
    # (data exception: NUL byte, invalid encoding, value too long) or 23 (constraint).
    state = str(getattr(error.orig, "sqlstate", None) or "")
    return state[:2] in ("22", "23")


@asynccontextmanager
async def _savepoint(session: AsyncSession) -> AsyncIterator[None]:
    if session.get_bind().dialect.name == "postgresql":
        async with session.begin_nested():
            yield
    else:
        yield


async def mark_seen(
    session: AsyncSession, credential_id: uuid.UUID, ids: list[str], seen_at: datetime
) -> list[Mapping[str, Any]]:
    """Skipped records exist in the cloud: their stored rows (if any) count as seen. Returns
    the rows it stamped (their aggregate dimensions)."""
    stamped: list[Mapping[str, Any]] = []
    for start in range(0, len(ids), 500):
        result = await session.execute(
            update(CloudResourceRow)
            .where(
                CloudResourceRow.credential_id == credential_id,
                CloudResourceRow.resource_id.in_(ids[start : start + 500]),
                CloudResourceRow.deleted_at.is_(None),
            )
            .values(last_synced_at=seen_at)
            .returning(*DIMENSIONS)
            .execution_options(synchronize_session=False)
        )
        stamped.extend(returned(result.all()))
    return stamped
