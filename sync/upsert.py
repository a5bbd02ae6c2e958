"""One batch of a scope's rows written: the locked read of what is stored, then one
`INSERT … ON CONFLICT (credential_id, resource_id) DO UPDATE`, and what the batch changed handed
to the aggregates' deltas, the change log and the rows kept for the findings.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.bulk import BulkWrite
from db.ids import new_id
from db.models import CloudResourceRow
from db.upserts import per_dialect
from providers.base import ResourceRecord
from sync import aggregates
from sync.aggregates import Deltas
from sync.history import COMPARED_COLUMNS, ChangeLog
from sync.scope_changes import Upserted

SCOPE_KEY = "_scope"
_RESOURCES: Table = CloudResourceRow.__table__  # type: ignore[assignment]
# Columns a re-listing refreshes; first_seen_at and id are kept, deleted_at is cleared.
_REFRESHED = (
    "provider",
    "account",
    "region",
    "type",
    "native_type",
    "name",
    "status",
    "tags",
    "metadata",
    "configuration",
    "cost_per_hour",
    "scope",
    "cost_source",
    "last_synced_at",
    "deleted_at",
)
_CREATED = ("user_id", "credential_id", "resource_id", "first_seen_at")


def distinct(*columns: Any) -> tuple[Any, ...]:
    named = {column.key: column for column in columns}
    return tuple(named.values())


# What the upsert reads of a batch's stored rows (for repeats, the aggregates and the change
# records: one statement).
BEFORE_COLUMNS = distinct(
    CloudResourceRow.resource_id,
    CloudResourceRow.deleted_at,
    *aggregates.DIMENSIONS,
    *COMPARED_COLUMNS,
)


def table_columns(*attributes: Any) -> tuple[Any, ...]:
    """The `resources` table's own columns for mapped attributes: statements of the write path
    select and update the table itself, which skips the ORM's per-statement compile and
    execution steps (the rows come back keyed by the same names)."""
    return tuple(_RESOURCES.c[attribute.key] for attribute in attributes)


_BEFORE = table_columns(*BEFORE_COLUMNS)


def _own(document: Any) -> dict[str, Any]:
    # Normalization made the dictionary for this record alone; any other mapping is copied.
    return document if type(document) is dict else dict(document)


def row_values(
    record: ResourceRecord,
    owner: tuple[uuid.UUID, uuid.UUID],
    key: str,
    seen_at: datetime,
) -> dict[str, Any]:
    """The row of a normalized record of the credential `owner` (user id, credential id)."""
    user_id, credential_id = owner
    return {
        "id": new_id(),
        "user_id": user_id,
        "credential_id": credential_id,
        "provider": record.provider,
        "account": record.account,
        "region": record.region,
        "type": record.type,
        "native_type": record.native_type,
        "resource_id": record.resource_id,
        "name": record.name,
        "status": record.status,
        "tags": _own(record.tags),
        "metadata": {**record.metadata, SCOPE_KEY: key},
        "configuration": _own(record.configuration),
        "cost_per_hour": record.cost_per_hour,
        "scope": key,
        "cost_source": record.cost_source,
        "first_seen_at": seen_at,
        "last_synced_at": seen_at,
        "deleted_at": None,
    }


async def upsert_batch(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    seen_at: datetime | None = None,
    deltas: Deltas | None = None,
    history: ChangeLog | None = None,
    upserted: Upserted | None = None,
) -> tuple[int, int, list[str]]:
    """One INSERT … ON CONFLICT (credential_id, resource_id) DO UPDATE.

    Returns (added, updated, repeated ids): `repeated` rows were already written by this listing
    (`seen_at`) from an earlier chunk of the same stream, so they are not counted twice. What the
    batch changed in the live rows goes to `deltas`: the stored rows are read first, locked (the
    rows on PostgreSQL, the database on SQLite), so a concurrent scope writing the same resource
    cannot change them in between; the same read carries the compared columns, for the change
    records collected in `history`, and what was written goes to `upserted`."""
    if not rows:
        return 0, 0, []
    credential_id = rows[0]["credential_id"]
    ids = [row["resource_id"] for row in rows]
    # A locking read: the rows on PostgreSQL, the database's write lock on SQLite
    # (db/sqlite_writes.py), held to the commit, so no other scope changes them in between.
    before = (
        select(*_BEFORE)
        .where(_RESOURCES.c.credential_id == credential_id, _RESOURCES.c.resource_id.in_(ids))
        .order_by(_RESOURCES.c.resource_id)
        .with_for_update()
    )
    existing = aggregates.returned((await session.execute(before)).all())
    repeated = [
        row["resource_id"]
        for row in existing
        if seen_at is not None and row["last_synced_at"] >= seen_at
    ]
    # A stored row keeps its id; a created row has the one generated for it, unless another
    # transaction inserted the same resource between the read and the upsert. On SQLite none
    # can (the read took the database's write lock), so the ids are known without RETURNING
    # and the rows go in one executemany; PostgreSQL's row locks leave that gap, so its upsert
    # returns the ids.
    row_ids = {row["resource_id"]: row["id"] for row in existing}
    if session.get_bind().dialect.name == "postgresql":
        written = await session.execute(_upsert_returning(session), rows)
        row_ids = {row.resource_id: row.id for row in written}
    else:
        await UPSERT_ROWS.execute(session, rows)
    if history is not None:
        history.upserted(existing, rows, row_ids)
    if upserted is not None:
        upserted.add(existing, rows, row_ids)
    if deltas is not None:
        for row in existing:
            if row["deleted_at"] is None:
                deltas.removed(row)
        for row in rows:
            deltas.added(row)
    return len(rows) - len(existing), len(existing) - len(repeated), repeated


def _upsert(insert: Any) -> Any:
    """One statement for every batch, compiled once.

    Executed with a list of rows by `db.bulk` on SQLite, it becomes one multi-row INSERT per
    batch (the rows bound column by column); with RETURNING, on PostgreSQL, SQLAlchemy's
    "insertmanyvalues" renders it as multi-row `INSERT … VALUES (…), (…) … ON CONFLICT`
    statements (one per batch here), never one statement per row. (`.values(rows)` would embed
    the rows in the statement and recompile it for every batch: measured at more than half of
    the engine's time.)
    """
    statement = insert(_RESOURCES)
    return statement.on_conflict_do_update(
        index_elements=[_RESOURCES.c.credential_id, _RESOURCES.c.resource_id],
        set_={name: statement.excluded[name] for name in _REFRESHED},
    )


# Every row carries the same columns (`row_values`).
UPSERT_ROWS = BulkWrite(_RESOURCES, ("id", *_REFRESHED, *_CREATED), _upsert)
_upsert_returning = per_dialect(
    lambda insert: _upsert(insert).returning(_RESOURCES.c.id, _RESOURCES.c.resource_id)
)
