"""Writing one scope's listing into the inventory: batched upserts, then scoped stale marking.

Which rows a scope covers: the engine stamps every row it writes with the key of the scope that
listed it (the indexed `scope` column, also shown as `metadata["_scope"] = "<region>/<kind>"`).
Stale marking after a completed listing touches only rows of the same credential carrying that
stamp, so it never depends on how a provider names native types or regions (Azure and GCP list
many kinds and regions in one scope), and reads one scope's rows, not the credential's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CloudCredentialRow, CloudResourceRow, SyncScopeRow
from providers.base import ResourceRecord, Scope
from providers.sanitize import DUPLICATE_ID
from sync import ingest
from sync.findings.store import evaluate_scope
from sync.relations import RelationKey, relation_keys, replace_relations
from sync.report import IngestReport

SCOPE_KEY = "_scope"
_RESOURCES = CloudResourceRow.__table__
_SCOPES = SyncScopeRow.__table__
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


def scope_key(scope: Scope) -> str:
    return scope.key


@dataclass(frozen=True, slots=True)
class ScopeCounts:
    added: int
    updated: int
    removed: int


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
    session: AsyncSession, rows: list[dict[str, Any]], seen_at: datetime | None = None
) -> tuple[int, int, list[str]]:
    """One INSERT … ON CONFLICT (credential_id, resource_id) DO UPDATE.

    Returns (added, updated, repeated ids): `repeated` rows were already written by this listing
    (`seen_at`) from an earlier chunk of the same stream, so they are not counted twice."""
    if not rows:
        return 0, 0, []
    credential_id = rows[0]["credential_id"]
    ids = [row["resource_id"] for row in rows]
    existing = (
        await session.execute(
            select(CloudResourceRow.resource_id, CloudResourceRow.last_synced_at).where(
                CloudResourceRow.credential_id == credential_id,
                CloudResourceRow.resource_id.in_(ids),
            )
        )
    ).all()
    repeated = [i for i, synced in existing if seen_at is not None and synced >= seen_at]
    await session.execute(_upsert_statement(session), rows)
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
    ).returning(_RESOURCES.c.id)


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
) -> ScopeCounts:
    """Upsert a completed listing, mark what it no longer contains, record the scope's success."""
    relations: set[RelationKey] = set()
    added, updated, count = await upsert_records(
        session, credential, scope, records, seen_at=seen_at, batch_size=batch_size,
        report=report, relations=relations,
    )  # fmt: skip
    removed = await complete_scope(
        session,
        credential,
        scope,
        seen_at=seen_at,
        job_id=job_id,
        count=count,
        relations=relations,
        batch_size=batch_size,
    )
    return ScopeCounts(added, updated, removed)


async def upsert_records(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    records: list[ResourceRecord],
    *,
    seen_at: datetime,
    batch_size: int,
    report: IngestReport,
    relations: set[RelationKey] | None = None,
) -> tuple[int, int, int]:
    """Normalize and upsert part or all of a scope's listing; returns (added, updated, rows).

    What normalization changed and which records could not be stored go to `report`. A skipped
    record that is already stored is stamped as seen, so stale marking keeps it."""
    key = scope_key(scope)
    unique, skipped_ids = ingest.normalized(records, report)
    if relations is not None:
        # From the normalized records: what the inventory stores, never a raw listing's values.
        relations |= relation_keys(unique.values())
    rows = [_row(record, credential, key, seen_at) for record in unique.values()]
    added = updated = 0
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        batch_added, batch_updated, repeated = await ingest.write_isolating(
            session, batch, seen_at, report, skipped_ids, upsert_batch
        )
        added += batch_added
        updated += batch_updated
        for resource_id in repeated:
            report.changed(DUPLICATE_ID, resource_id)
    await ingest.mark_seen(session, credential.id, skipped_ids, seen_at)
    return added, updated, added + updated


async def complete_scope(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    *,
    seen_at: datetime,
    job_id: uuid.UUID,
    count: int,
    relations: set[RelationKey],
    batch_size: int,
) -> int:
    """After a listing completed: mark what it no longer contains, replace the scope's
    relations with the listing's, evaluate its findings, record the scope's success.

    Returns how many rows were marked deleted."""
    removed = await mark_stale(session, credential.id, scope_key(scope), seen_at)
    await replace_relations(session, credential, scope_key(scope), relations, batch_size=batch_size)
    await evaluate_scope(session, credential, scope, seen_at=seen_at)
    await record_scope(session, credential, scope, job_id=job_id, completed_at=seen_at, count=count)
    return removed


async def mark_stale(
    session: AsyncSession, credential_id: uuid.UUID, key: str, seen_at: datetime
) -> int:
    """Rows of this scope not refreshed by the listing that just completed are marked deleted."""
    result = await session.execute(
        update(CloudResourceRow)
        .where(
            CloudResourceRow.credential_id == credential_id,
            CloudResourceRow.scope == key,
            CloudResourceRow.deleted_at.is_(None),
            CloudResourceRow.last_synced_at < seen_at,
        )
        .values(deleted_at=seen_at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


async def record_scope(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    *,
    job_id: uuid.UUID,
    completed_at: datetime | None = None,
    count: int | None = None,
    error_code: str | None = None,
) -> None:
    """Upsert the scope's last outcome; a failure keeps the last completion time and count."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": credential.user_id,
        "credential_id": credential.id,
        "region": scope.region,
        "kind": scope.kind,
        "last_job_id": job_id,
        "last_error_code": error_code,
        "last_completed_at": completed_at,
        "resource_count": count or 0,
    }
    changed = ["last_job_id", "last_error_code"]
    if completed_at is not None:
        changed += ["last_completed_at", "resource_count"]
    statement = _insert(session)(_SCOPES).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[_SCOPES.c.credential_id, _SCOPES.c.region, _SCOPES.c.kind],
        set_={name: statement.excluded[name] for name in changed},
    )
    await session.execute(statement)
