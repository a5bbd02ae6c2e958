"""The parts of an organization-wide job as a queue: one part per cloud account, claimable by any
worker, with its own lease. The job row keeps the one progress figure, the counts and the errors;
the part that closes last finishes the job. Every function runs in a caller-provided session.

A part's progress and counts are written on its own row, in each scope's transaction; the job's
figures are the sums over its parts, refreshed from them. While parts run, a scope's transaction
refreshes the job only if no other transaction holds the job row (SKIP LOCKED): workers on
several machines never queue behind one row lock per scope, and a refresh skipped is made good by
the next one. Writes that must not be skipped (an account's errors, a part's close) take the
job row's lock and wait for it: an error list is never overwritten by an older copy, and exactly
one closing part sees that no other part is left.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import ACTIVE_JOB_STATUSES, SyncJobStatus
from db.ids import new_id
from db.models import SyncJobPartRow, SyncJobRow
from db.types import utcnow
from providers.base import CloudAccountInfo
from sync.jobs import JobLost, save_progress
from sync.wakeups import notify_work

CLAIM_SLACK = 16


@dataclass(frozen=True, slots=True)
class PartLease:
    """What a worker holds while it runs one part."""

    part_id: uuid.UUID
    job_id: uuid.UUID
    worker_id: str
    account_id: str
    account_name: str
    weight: float

    @property
    def prefix(self) -> str:
        """Every error and warning of this account's scopes is keyed `<account>:…`."""
        return f"{self.account_id}:"


def _job_sums(session: AsyncSession, job_id: uuid.UUID) -> dict[str, Any]:
    """The job's progress and counts as the sums over its parts (correlated subqueries)."""

    def total(column: Any, empty: Any) -> Any:
        return (
            select(func.coalesce(func.sum(column), empty))
            .where(SyncJobPartRow.job_id == job_id)
            .scalar_subquery()
        )

    least = func.min if session.get_bind().dialect.name == "sqlite" else func.least
    return {
        "progress": least(total(SyncJobPartRow.progress, 0.0), 1.0),
        "added": total(SyncJobPartRow.added, 0),
        "updated": total(SyncJobPartRow.updated, 0),
        "removed": total(SyncJobPartRow.removed, 0),
    }


async def _refresh_job(session: AsyncSession, job_id: uuid.UUID, *, wait: bool) -> bool:
    """Write the job's sums from its parts; without `wait`, only if the row is free right now
    (PostgreSQL; SQLite serializes writers anyway). False when nothing was written."""
    statement = update(SyncJobRow).where(
        SyncJobRow.id == job_id, SyncJobRow.status == SyncJobStatus.RUNNING
    )
    if not wait and session.get_bind().dialect.name == "postgresql":
        free = (
            select(SyncJobRow.id)
            .where(SyncJobRow.id == job_id)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = statement.where(SyncJobRow.id == free)
    result = await session.execute(
        statement.values(heartbeat_at=utcnow(), **_job_sums(session, job_id)).execution_options(
            synchronize_session=False
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def split(
    session: AsyncSession,
    job_id: uuid.UUID,
    worker_id: str,
    user_id: uuid.UUID,
    accounts: Sequence[CloudAccountInfo],
    errors: list[dict[str, Any]],
) -> list[uuid.UUID]:
    """Turn the claimed job into one QUEUED part per account, in one transaction with the job's
    hand-over. Returns the parts."""
    await save_progress(session, job_id, worker_id, progress=0.0, errors=errors)
    # No worker owns the job itself from now on: its parts do (and the last one finishes it).
    await session.execute(
        update(SyncJobRow)
        .where(SyncJobRow.id == job_id)
        .values(worker_id=None)
        .execution_options(synchronize_session=False)
    )
    weight = 1.0 / len(accounts)
    now = utcnow()
    parts = [
        SyncJobPartRow(
            id=new_id(),
            user_id=user_id,
            job_id=job_id,
            account_id=account.account_id,
            account_name=account.name[:256],
            weight=weight,
            status=SyncJobStatus.QUEUED,
            queued_at=now,
        )
        for account in accounts
    ]
    session.add_all(parts)
    await session.flush()
    await notify_work(session)
    return [part.id for part in parts]


async def _lock_job(session: AsyncSession, job_id: uuid.UUID, **values: Any) -> bool:
    """Take the running job's row lock (and apply `values`); False when it is not running."""
    result = await session.execute(
        update(SyncJobRow)
        .where(SyncJobRow.id == job_id, SyncJobRow.status == SyncJobStatus.RUNNING)
        .values(heartbeat_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def _replace_entries(
    session: AsyncSession,
    job_id: uuid.UUID,
    prefix: str,
    errors: Sequence[dict[str, Any]],
    warnings: Sequence[dict[str, Any]],
) -> None:
    """The job's errors and warnings with this account's entries replaced (job row locked)."""
    current = (
        await session.execute(
            select(SyncJobRow.errors, SyncJobRow.warnings).where(SyncJobRow.id == job_id)
        )
    ).one()

    def others(entries: Sequence[dict[str, Any]] | None) -> list[dict[str, Any]]:
        return [e for e in entries or () if not str(e.get("scope", "")).startswith(prefix)]

    await session.execute(
        update(SyncJobRow)
        .where(SyncJobRow.id == job_id)
        .values(
            errors=[*others(current.errors), *errors],
            warnings=[*others(current.warnings), *warnings],
        )
        .execution_options(synchronize_session=False)
    )


async def claim(session: AsyncSession, worker_id: str, limit: int) -> list[PartLease]:
    """Move up to `limit` QUEUED parts to RUNNING for this worker, oldest first.

    A part that ran before (its worker died or stopped) first takes back from the job what it
    had added, so the re-run is not counted twice. On SQLite (no SKIP LOCKED; a worker claiming
    at the same moment reads the same oldest parts) more candidates than `limit` are read; on
    PostgreSQL exactly `limit`, since every candidate read is locked until the commit."""
    slack = CLAIM_SLACK if session.get_bind().dialect.name == "sqlite" else 0
    candidates = (
        await session.scalars(
            select(SyncJobPartRow)
            .where(SyncJobPartRow.status == SyncJobStatus.QUEUED)
            .order_by(SyncJobPartRow.queued_at, SyncJobPartRow.id)
            .limit(limit + slack)
            .with_for_update(skip_locked=True)
        )
    ).all()
    claimed: list[PartLease] = []
    now = utcnow()
    for part in candidates:
        if len(claimed) >= limit:
            break
        result = await session.execute(
            update(SyncJobPartRow)
            .where(SyncJobPartRow.id == part.id, SyncJobPartRow.status == SyncJobStatus.QUEUED)
            .values(
                status=SyncJobStatus.RUNNING,
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                attempts=SyncJobPartRow.attempts + 1,
                progress=0.0,
                added=0,
                updated=0,
                removed=0,
                scopes=0,
                succeeded=0,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            continue
        lease = PartLease(
            part.id, part.job_id, worker_id, part.account_id, part.account_name, part.weight
        )
        if part.attempts:
            # The earlier attempt's share leaves the job's sums and its errors list.
            await _lock_job(session, part.job_id)
            await _replace_entries(session, part.job_id, lease.prefix, (), ())
            await _refresh_job(session, part.job_id, wait=True)
        claimed.append(lease)
    return claimed


async def _own(session: AsyncSession, lease: PartLease, **values: Any) -> None:
    """Refresh the part's lease (and apply `values`); raise JobLost when it is not ours."""
    result = await session.execute(
        update(SyncJobPartRow)
        .where(
            SyncJobPartRow.id == lease.part_id,
            SyncJobPartRow.worker_id == lease.worker_id,
            SyncJobPartRow.status == SyncJobStatus.RUNNING,
        )
        .values(heartbeat_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise JobLost(str(lease.part_id))


async def beat(session: AsyncSession, lease: PartLease) -> None:
    await _own(session, lease)


async def planned(session: AsyncSession, lease: PartLease, scopes: int) -> None:
    await _own(session, lease, scopes=scopes)


async def add_progress(
    session: AsyncSession,
    lease: PartLease,
    *,
    step: float,
    added: int = 0,
    updated: int = 0,
    removed: int = 0,
    succeeded: int = 0,
    errors: Sequence[dict[str, Any]] | None = None,
    warnings: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Add a finished scope to the part (increments: its concurrent scopes commute), and
    refresh the job's sums unless another transaction holds its row."""
    await _own(
        session,
        lease,
        progress=SyncJobPartRow.progress + step,
        added=SyncJobPartRow.added + added,
        updated=SyncJobPartRow.updated + updated,
        removed=SyncJobPartRow.removed + removed,
        succeeded=SyncJobPartRow.succeeded + succeeded,
    )
    if errors is None and warnings is None:
        await _refresh_job(session, lease.job_id, wait=False)
        return
    if not await _lock_job(session, lease.job_id):
        raise JobLost(str(lease.job_id))
    await _replace_entries(session, lease.job_id, lease.prefix, errors or (), warnings or ())
    await _refresh_job(session, lease.job_id, wait=True)


async def close(
    session: AsyncSession,
    lease: PartLease,
    status: SyncJobStatus,
    errors: Sequence[dict[str, Any]],
    warnings: Sequence[dict[str, Any]],
) -> bool:
    """End the part: its share of progress completes and its errors join the job's. Returns
    True when it was the job's last open part (the caller finishes the job in this session)."""
    if not await _lock_job(session, lease.job_id):
        raise JobLost(str(lease.job_id))
    await _own(session, lease, status=status, finished_at=utcnow(), progress=lease.weight)
    await _replace_entries(session, lease.job_id, lease.prefix, errors, warnings)
    await _refresh_job(session, lease.job_id, wait=True)
    return await _is_last(session, lease.job_id)


async def _is_last(session: AsyncSession, job_id: uuid.UUID) -> bool:
    # Read after taking the job's row lock: every other closing part has committed or waits.
    open_parts = await session.scalar(
        select(func.count())
        .select_from(SyncJobPartRow)
        .where(SyncJobPartRow.job_id == job_id, SyncJobPartRow.status.in_(ACTIVE_JOB_STATUSES))
    )
    return not open_parts


async def scopes_succeeded(session: AsyncSession, job_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(SyncJobPartRow.succeeded), 0)).where(
            SyncJobPartRow.job_id == job_id
        )
    )
    return int(total or 0)


async def release(session: AsyncSession, lease: PartLease) -> None:
    """Give a part back to the queue (graceful shutdown): another worker runs it again."""
    await session.execute(
        update(SyncJobPartRow)
        .where(
            SyncJobPartRow.id == lease.part_id,
            SyncJobPartRow.worker_id == lease.worker_id,
            SyncJobPartRow.status == SyncJobStatus.RUNNING,
        )
        .values(status=SyncJobStatus.QUEUED, worker_id=None, heartbeat_at=None)
        .execution_options(synchronize_session=False)
    )
    await notify_work(session)
