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

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CloudCredentialRow, CloudResourceRow
from providers.base import ResourceRecord, Scope
from providers.sanitize import DUPLICATE_ID
from sync import aggregates, ingest
from sync.aggregates import Deltas
from sync.findings.store import evaluate_scope
from sync.history import IDENTITY_COLUMNS, ChangeLog
from sync.relations import RelationKey, relation_keys, replace_relations
from sync.report import IngestReport
from sync.scope_changes import ScopeChanges, Stored, Upserted
from sync.upsert import distinct, row_values, table_columns, upsert_batch

# What stale marking returns of the rows it marks (for the aggregates and the change records).
MARKED_COLUMNS = table_columns(*distinct(*aggregates.DIMENSIONS, *IDENTITY_COLUMNS))
_RESOURCES: Table = CloudResourceRow.__table__  # type: ignore[assignment]


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
        batch_size=batch_size, report=report, relations=relations, whole=True,
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
    whole: bool = False,
) -> ScopeChanges:
    """Normalize and upsert part or all of a scope's listing; returns the counts, the deltas
    and the change records (of job `job_id`) of these writes, which the caller applies to the
    aggregates and inserts in the same transaction. With `whole` (the records are the scope's
    complete listing), the rows written are kept too (`ScopeChanges.upserted`).

    What normalization changed and which records could not be stored go to `report`. A skipped
    record that is already stored is stamped as seen, so stale marking keeps it."""
    key = scope_key(scope)
    unique, skipped_ids = ingest.normalized(records, report)
    if relations is not None:
        # From the normalized records: what the inventory stores, never a raw listing's values.
        relations |= relation_keys(unique.values())
    owner = (credential.user_id, credential.id)
    rows = [row_values(record, owner, key, seen_at) for record in unique.values()]
    changes = ScopeChanges(history=ChangeLog(job_id, seen_at))
    upserted = Upserted() if whole else None

    async def write(
        session: AsyncSession, batch: list[dict[str, Any]], seen_at: datetime
    ) -> tuple[int, int, list[str]]:
        # Deltas are taken only from batches the database accepted.
        return await upsert_batch(
            session, batch, seen_at, changes.deltas, changes.history, upserted
        )

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
    # A skipped record's stored row stays live as it was: not among the rows written.
    changes.upserted = None if seen else upserted
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
            created = changes.upserted.created if changes.upserted is not None else frozenset()
            await changes.history.relations_replaced(session, credential, old, relations, created)
    for derive in DERIVED:
        await derive(session, credential, key, changes)
    # Findings read the scope itself (its kinds), so they are called here, not through DERIVED.
    await evaluate_scope(
        session, credential, scope, seen_at=seen_at, upserted=changes.upserted,
        had_rows=stored is None or stored.has_rows(key),
    )  # fmt: skip
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
        update(_RESOURCES)
        .where(
            _RESOURCES.c.credential_id == credential_id,
            _RESOURCES.c.scope == key,
            _RESOURCES.c.deleted_at.is_(None),
            _RESOURCES.c.last_synced_at < seen_at,
        )
        .values(deleted_at=seen_at)
        .returning(*MARKED_COLUMNS)
    )
    gone = aggregates.returned(result.all())
    for row in gone:
        deltas.removed(row)
        if history is not None:
            history.deleted(row)
    return len(gone)
