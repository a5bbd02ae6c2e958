"""Writing one scope's listing into the inventory: batched upserts, then scoped stale marking.

Which rows a scope covers: the engine stamps every row it writes with the key of the scope that
listed it (the indexed `scope` column, also shown as `metadata["_scope"] = "<region>/<kind>"`).
Stale marking after a completed listing touches only rows of the same credential carrying that
stamp, so it never depends on how a provider names native types or regions (Azure and GCP list
many kinds and regions in one scope), and reads one scope's rows, not the credential's.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CloudCredentialRow, CloudResourceRow
from providers.base import ResourceRecord, Scope
from providers.sanitize import DUPLICATE_ID
from sync import aggregates, ingest
from sync.aggregates import Deltas
from sync.findings.store import evaluate_scope
from sync.history import COMPARED_COLUMNS, IDENTITY_COLUMNS, ChangeLog
from sync.relations import RelationKey, relation_keys, replace_relations
from sync.report import IngestReport
from sync.scope_changes import ScopeChanges, Stored

SCOPE_KEY = "_scope"
_RESOURCES = CloudResourceRow.__table__
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


def _distinct(*columns: Any) -> tuple[Any, ...]:
    named = {column.key: column for column in columns}
    return tuple(named.values())


# What the upsert reads of a batch's stored rows (for repeats, the aggregates and the change
# records: one statement) and what stale marking returns of the rows it marks.
BEFORE_COLUMNS = _distinct(
    CloudResourceRow.resource_id,
    CloudResourceRow.deleted_at,
    *aggregates.DIMENSIONS,
    *COMPARED_COLUMNS,
)
MARKED_COLUMNS = _distinct(*aggregates.DIMENSIONS, *IDENTITY_COLUMNS)


def scope_key(scope: Scope) -> str:
    return scope.key


async def derive_aggregates(
    session: AsyncSession, credential: CloudCredentialRow, key: str, changes: ScopeChanges
) -> None:
    """The transaction's upserts and stale marking, added to the aggregates in one upsert."""
    await aggregates.apply(session, credential.id, credential.user_id, changes.deltas)


async def derive_history(
    session: AsyncSession, credential: CloudCredentialRow, key: str, changes: ScopeChanges
) -> None:
    """The change records the transaction's writes collected (sync/history.py)."""
    if not changes.changed or changes.history is None:
        return
    await changes.history.write(session, _HISTORY_BATCH)


# Work derived from a completed scope, run in its transaction after stale marking and relation
# replacement; each entry must return at once when `changes.changed` is False.
Derivation = Callable[[AsyncSession, CloudCredentialRow, str, ScopeChanges], Awaitable[None]]
DERIVED: tuple[Derivation, ...] = (derive_aggregates, derive_history)
_HISTORY_BATCH = 500


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _row(
    record: ResourceRecord, credential: CloudCredentialRow, key: str, seen_at: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "user_id": credential.user_id,
        "credential_id": credential.id,
        "provider": record.provider,
        "account": record.account,
        "region": record.region,
        "type": record.type,
        "native_type": record.native_type,
        "resource_id": record.resource_id,
        "name": record.name,
        "status": record.status,
        "tags": dict(record.tags),
        "metadata": {**record.metadata, SCOPE_KEY: key},
        "configuration": dict(record.configuration),
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
) -> tuple[int, int, list[str]]:
    """One INSERT … ON CONFLICT (credential_id, resource_id) DO UPDATE.

    Returns (added, updated, repeated ids): `repeated` rows were already written by this listing
    (`seen_at`) from an earlier chunk of the same stream, so they are not counted twice. What the
    batch changed in the live rows goes to `deltas`: the stored rows are read first, locked (the
    rows on PostgreSQL, the database on SQLite), so a concurrent scope writing the same resource
    cannot change them in between; the same read carries the compared columns, for the change records collected in `history`."""
    if not rows:
        return 0, 0, []
    credential_id = rows[0]["credential_id"]
    ids = [row["resource_id"] for row in rows]
    # A locking read: the rows on PostgreSQL, the database's write lock on SQLite
    # (db/sqlite_writes.py), held to the commit, so no other scope changes them in between.
    before = (
        select(*BEFORE_COLUMNS)
        .where(
            CloudResourceRow.credential_id == credential_id,
            CloudResourceRow.resource_id.in_(ids),
        )
        .order_by(CloudResourceRow.resource_id)
        .with_for_update()
    )
    existing = aggregates.returned((await session.execute(before)).all())
    repeated = [
        row["resource_id"]
        for row in existing
        if seen_at is not None and row["last_synced_at"] >= seen_at
    ]
    written = await session.execute(_upsert_statement(session), rows)
    if history is not None:
        history.upserted(existing, rows, {row.resource_id: row.id for row in written})
    if deltas is not None:
        for row in existing:
            if row["deleted_at"] is None:
                deltas.removed(row)
        for row in rows:
            deltas.added(row)
    return len(rows) - len(existing), len(existing) - len(repeated), repeated


def _upsert_statement(session: AsyncSession) -> Any:
    """One statement shape for every batch, so SQLAlchemy compiles it once and caches it.

    Executed with a list of rows and RETURNING, SQLAlchemy's "insertmanyvalues" renders it as
    multi-row `INSERT … VALUES (…), (…) … ON CONFLICT` statements (one per batch here), never one
    statement per row. (`.values(rows)` would embed the rows in the statement and recompile it for
    every batch: measured at more than half of the engine's time.)
    """
    statement = _insert(session)(_RESOURCES)
    return statement.on_conflict_do_update(
        index_elements=[_RESOURCES.c.credential_id, _RESOURCES.c.resource_id],
        set_={name: statement.excluded[name] for name in _REFRESHED},
    ).returning(_RESOURCES.c.id, _RESOURCES.c.resource_id)


async def write_scope(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    records: list[ResourceRecord],
    *,
    seen_at: datetime,
    job_id: uuid.UUID,
    batch_size: int,
    report: IngestReport,
    stored: Stored | None = None,
) -> ScopeChanges:
    """Upsert a completed listing of job `job_id`, then complete the scope (stale marking,
    relations, derived work). The caller records the scope's completion in the same
    transaction."""
    relations: set[RelationKey] = set()
    written = await upsert_records(
        session, credential, scope, records, seen_at=seen_at, job_id=job_id,
        batch_size=batch_size, report=report, relations=relations,
    )  # fmt: skip
    return await complete_scope(
        session,
        credential,
        scope,
        seen_at=seen_at,
        relations=relations,
        batch_size=batch_size,
        changes=written,
        stored=stored,
    )


async def upsert_records(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    records: list[ResourceRecord],
    *,
    seen_at: datetime,
    job_id: uuid.UUID,
    batch_size: int,
    report: IngestReport,
    relations: set[RelationKey] | None = None,
) -> ScopeChanges:
    """Normalize and upsert part or all of a scope's listing; returns the counts, the deltas
    and the change records (of job `job_id`) of these writes, which the caller applies to the
    aggregates and inserts in the same transaction.

    What normalization changed and which records could not be stored go to `report`. A skipped
    record that is already stored is stamped as seen, so stale marking keeps it."""
    key = scope_key(scope)
    unique, skipped_ids = ingest.normalized(records, report)
    if relations is not None:
        # From the normalized records: what the inventory stores, never a raw listing's values.
        relations |= relation_keys(unique.values())
    rows = [_row(record, credential, key, seen_at) for record in unique.values()]
    changes = ScopeChanges(history=ChangeLog(job_id, seen_at))

    async def write(
        session: AsyncSession, batch: list[dict[str, Any]], seen_at: datetime
    ) -> tuple[int, int, list[str]]:
        # Deltas are taken only from batches the database accepted.
        return await upsert_batch(session, batch, seen_at, changes.deltas, changes.history)

    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        batch_added, batch_updated, repeated = await ingest.write_isolating(
            session, batch, seen_at, report, skipped_ids, write
        )
        changes.added += batch_added
        changes.updated += batch_updated
        for resource_id in repeated:
            report.changed(DUPLICATE_ID, resource_id)
    seen = await ingest.mark_seen(session, credential.id, skipped_ids, seen_at)
    for row in seen:
        changes.deltas.seen(row)
    changes.written = changes.added + changes.updated
    return changes


async def write_chunk(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    records: list[ResourceRecord],
    *,
    seen_at: datetime,
    job_id: uuid.UUID,
    batch_size: int,
    report: IngestReport,
    relations: set[RelationKey],
) -> ScopeChanges:
    """One chunk of a streamed listing, committed on its own: its upserts, their deltas and
    their change records."""
    changes = await upsert_records(
        session, credential, scope, records, seen_at=seen_at, job_id=job_id,
        batch_size=batch_size, report=report, relations=relations,
    )  # fmt: skip
    await aggregates.apply(session, credential.id, credential.user_id, changes.deltas)
    if changes.history is not None:
        await changes.history.write(session, batch_size)
    return changes


async def complete_scope(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    *,
    seen_at: datetime,
    relations: set[RelationKey],
    batch_size: int,
    changes: ScopeChanges,
    stored: Stored | None = None,
) -> ScopeChanges:
    """After a listing completed: mark what it no longer contains, replace the scope's relations
    with the listing's, then run the derived work, all in the caller's transaction.

    `changes` holds what the listing's upserts changed (added/updated for the whole scope, and the
    deltas and change records of this transaction not yet applied; its `history` carries the
    job id); `removed`, its deltas and records and `relations_replaced` are filled in here. With
    `stored` (what the job found stored when it started), work that provably has nothing to do
    is skipped: stale marking of a scope that had no live rows, deleting relations of a scope
    that had none."""
    key = scope_key(scope)
    if stored is None or stored.has_rows(key):
        changes.removed = await mark_stale(
            session, credential.id, key, seen_at, changes.deltas, changes.history
        )
    had_relations = stored is None or stored.has_relations(key)
    if relations or had_relations:
        old = await replace_relations(
            session, credential, key, relations, batch_size=batch_size, clear=had_relations
        )
        changes.relations_replaced = True
        if changes.history is not None:
            await changes.history.relations_replaced(session, credential, old, relations)
    for derive in DERIVED:
        await derive(session, credential, key, changes)
    # Findings read the scope itself (its kinds), so they are called here, not through DERIVED.
    await evaluate_scope(session, credential, scope, seen_at=seen_at)
    return changes


async def mark_stale(
    session: AsyncSession,
    credential_id: uuid.UUID,
    key: str,
    seen_at: datetime,
    deltas: Deltas,
    history: ChangeLog | None = None,
) -> int:
    """Rows of this scope not refreshed by the listing that just completed are marked deleted
    (what they held goes to `deltas`, a DELETED record of each to `history`, both from the one
    UPDATE … RETURNING); returns how many."""
    result = await session.execute(
        update(CloudResourceRow)
        .where(
            CloudResourceRow.credential_id == credential_id,
            CloudResourceRow.scope == key,
            CloudResourceRow.deleted_at.is_(None),
            CloudResourceRow.last_synced_at < seen_at,
        )
        .values(deleted_at=seen_at)
        .returning(*MARKED_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    gone = aggregates.returned(result.all())
    for row in gone:
        deltas.removed(row)
        if history is not None:
            history.deleted(row)
    return len(gone)
