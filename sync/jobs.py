"""The job table as a queue: enqueue (one active job per credential), claim, heartbeat, finish,
and recovery of jobs whose worker died. Every function runs in a caller-provided session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import ACTIVE_JOB_STATUSES, SyncJobStatus, SyncTrigger
from db.ids import new_id
from db.models import CloudCredentialRow, SyncJobPartRow, SyncJobRow
from db.types import utcnow
from integrations.webhooks.sync_events import sync_job_finished
from sync.wakeups import notify_work

WORKER_LOST = {
    "scope": "*",
    "code": "WORKER_LOST",
    "message": "The worker running this job stopped; it was not retried again.",
}


LOCK_TIMEOUT_SECONDS = 15


class JobLost(Exception):
    """This worker no longer owns the job (it was recovered as stale by another process)."""


async def bound_lock_waits(session: AsyncSession) -> None:
    """PostgreSQL: give up on a row lock after LOCK_TIMEOUT instead of waiting for ever (a
    transaction stuck elsewhere must not hang `startSync`). SQLite's busy timeout does the same."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'"))


async def lock_credential(session: AsyncSession, credential_id: uuid.UUID) -> bool:
    """Serialize job creation per credential until the transaction ends.

    A self-assignment UPDATE takes the row lock on PostgreSQL and the database write lock on
    SQLite, so two concurrent `startSync` calls cannot both see "no active job". Returns False
    when the credential does not exist (any more).
    """
    await bound_lock_waits(session)
    result = await session.execute(
        update(CloudCredentialRow)
        .where(CloudCredentialRow.id == credential_id)
        .values(updated_at=CloudCredentialRow.updated_at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def enqueue(
    session: AsyncSession,
    credential_id: uuid.UUID,
    trigger: SyncTrigger,
    *,
    not_queued_since: datetime | None = None,
    now: datetime | None = None,
) -> tuple[SyncJobRow, bool] | None:
    """(the credential's active job, False) if there is one, else (a new QUEUED job, True).

    With `not_queued_since` (the scheduler), returns None when a job was queued after that
    instant, so several schedulers on several machines enqueue one job per interval.
    """
    if not await lock_credential(session, credential_id):
        return None
    active = await session.scalar(
        select(SyncJobRow)
        .where(
            SyncJobRow.credential_id == credential_id, SyncJobRow.status.in_(ACTIVE_JOB_STATUSES)
        )
        .order_by(SyncJobRow.queued_at)
        .limit(1)
    )
    if active is not None:
        return active, False
    if not_queued_since is not None:
        latest = await session.scalar(
            select(func.max(SyncJobRow.queued_at)).where(SyncJobRow.credential_id == credential_id)
        )
        if latest is not None and latest > not_queued_since:
            return None
    owner = await session.scalar(
        select(CloudCredentialRow.user_id).where(CloudCredentialRow.id == credential_id)
    )
    job = SyncJobRow(
        id=new_id(),
        user_id=owner,
        credential_id=credential_id,
        trigger=trigger,
        status=SyncJobStatus.QUEUED,
        queued_at=now or utcnow(),
        errors=[],
    )
    session.add(job)
    await session.flush()
    await notify_work(session)
    return job, True


async def claim(session: AsyncSession, worker_id: str, limit: int) -> list[uuid.UUID]:
    """Move up to `limit` QUEUED jobs to RUNNING for this worker, oldest first.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` lets several workers claim without waiting on each
    other; the conditional UPDATE makes the claim safe on SQLite too (FOR UPDATE is ignored).
    """
    candidates = (
        await session.scalars(
            select(SyncJobRow.id)
            .where(SyncJobRow.status == SyncJobStatus.QUEUED)
            .order_by(SyncJobRow.queued_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    claimed: list[uuid.UUID] = []
    now = utcnow()
    for job_id in candidates:
        result = await session.execute(
            update(SyncJobRow)
            .where(SyncJobRow.id == job_id, SyncJobRow.status == SyncJobStatus.QUEUED)
            .values(
                status=SyncJobStatus.RUNNING,
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                attempts=SyncJobRow.attempts + 1,
                progress=0.0,
                added=0,
                updated=0,
                removed=0,
                errors=[],
                warnings=[],
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            claimed.append(job_id)
    return claimed


def _owned(job_id: uuid.UUID, worker_id: str) -> Any:
    return (
        SyncJobRow.id == job_id,
        SyncJobRow.worker_id == worker_id,
        SyncJobRow.status == SyncJobStatus.RUNNING,
    )


async def save_progress(
    session: AsyncSession,
    job_id: uuid.UUID,
    worker_id: str,
    **values: Any,
) -> None:
    """Write progress/counts/errors (and refresh the heartbeat); raise JobLost if not ours."""
    result = await session.execute(
        update(SyncJobRow)
        .where(*_owned(job_id, worker_id))
        .values(heartbeat_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise JobLost(str(job_id))


async def add_progress(
    session: AsyncSession,
    job_id: uuid.UUID,
    worker_id: str,
    *,
    step: float,
    added: int = 0,
    updated: int = 0,
    removed: int = 0,
    errors: list[dict[str, Any]] | None = None,
    warnings: list[dict[str, Any]] | None = None,
) -> None:
    """Add one finished scope to the job (increments, so concurrent writers commute)."""
    values: dict[str, Any] = {
        "progress": func.min(SyncJobRow.progress + step, 1.0)
        if session.get_bind().dialect.name == "sqlite"
        else func.least(SyncJobRow.progress + step, 1.0),
        "added": SyncJobRow.added + added,
        "updated": SyncJobRow.updated + updated,
        "removed": SyncJobRow.removed + removed,
    }
    if errors is not None:
        values["errors"] = errors
    if warnings is not None:
        values["warnings"] = warnings
    await save_progress(session, job_id, worker_id, **values)


async def finish(
    session: AsyncSession,
    job_id: uuid.UUID,
    worker_id: str,
    status: SyncJobStatus,
    **values: Any,
) -> None:
    await save_progress(session, job_id, worker_id, status=status, finished_at=utcnow(), **values)
    # Webhook deliveries commit with the final status, or not at all.
    await sync_job_finished(session, job_id)


async def finish_split(
    session: AsyncSession, job_id: uuid.UUID, worker_id: str, status: SyncJobStatus
) -> None:
    """Finish a job that was split into parts (no worker owns it; its last part ends it). The
    status condition makes it happen once, whichever worker closes the last part."""
    result = await session.execute(
        update(SyncJobRow)
        .where(SyncJobRow.id == job_id, SyncJobRow.status == SyncJobStatus.RUNNING)
        .values(
            status=status,
            finished_at=utcnow(),
            heartbeat_at=utcnow(),
            worker_id=worker_id,
            progress=1.0,
        )
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise JobLost(str(job_id))
    await sync_job_finished(session, job_id)


async def release(session: AsyncSession, job_id: uuid.UUID, worker_id: str) -> None:
    """Give a job back to the queue (graceful shutdown): another worker runs it again."""
    await session.execute(
        update(SyncJobRow)
        .where(*_owned(job_id, worker_id))
        .values(status=SyncJobStatus.QUEUED, worker_id=None, heartbeat_at=None)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class Recovered:
    requeued: list[uuid.UUID]
    failed: list[uuid.UUID]


async def recover_stale(
    session: AsyncSession, *, now: datetime, stale_after: timedelta, max_attempts: int
) -> Recovered:
    """RUNNING jobs whose heartbeat stopped: re-queue them, or fail them after max attempts.

    A job split into parts is left alone: its parts have their own leases (`sync/parts.py`)."""
    deadline = now - stale_after
    stale = (
        await session.execute(
            select(SyncJobRow.id, SyncJobRow.attempts)
            .where(
                SyncJobRow.status == SyncJobStatus.RUNNING,
                func.coalesce(SyncJobRow.heartbeat_at, SyncJobRow.started_at, SyncJobRow.queued_at)
                < deadline,
                ~exists().where(SyncJobPartRow.job_id == SyncJobRow.id),
            )
            .with_for_update(skip_locked=True)
        )
    ).all()
    requeued: list[uuid.UUID] = []
    failed: list[uuid.UUID] = []
    for job_id, attempts in stale:
        base = update(SyncJobRow).where(
            SyncJobRow.id == job_id, SyncJobRow.status == SyncJobStatus.RUNNING
        )
        if attempts < max_attempts:
            statement = base.values(status=SyncJobStatus.QUEUED, worker_id=None, heartbeat_at=None)
            requeued.append(job_id)
        else:
            statement = base.values(
                status=SyncJobStatus.FAILED, finished_at=now, worker_id=None, errors=[WORKER_LOST]
            )
            failed.append(job_id)
        await session.execute(statement.execution_options(synchronize_session=False))
        if job_id in failed:
            await sync_job_finished(session, job_id)
    return Recovered(requeued, failed)
