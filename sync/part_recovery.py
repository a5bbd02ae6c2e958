"""Recovery of parts whose worker died: a part's heartbeat going stale re-queues it, like a job,
and after `SYNC_MAX_ATTEMPTS` runs the part is handed to the recovering worker to be closed as
failed (its account keeps its inventory)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import SyncJobStatus
from db.models import SyncJobPartRow
from sync.parts import PartLease
from sync.wakeups import notify_work

WORKER_LOST_MESSAGE = "The worker listing this account stopped; it was not retried again."


@dataclass(frozen=True, slots=True)
class StaleParts:
    requeued: list[uuid.UUID]
    # Parts given up after max attempts, as leases the recovering worker closes.
    failed: list[PartLease]


async def recover_stale(
    session: AsyncSession, *, now: datetime, stale_after: timedelta, max_attempts: int
) -> StaleParts:
    """RUNNING parts whose heartbeat stopped: re-queue them, or hand them over (as leases of
    `recovery_worker`) to be closed as failed after max attempts."""
    deadline = now - stale_after
    stale = (
        await session.scalars(
            select(SyncJobPartRow)
            .where(
                SyncJobPartRow.status == SyncJobStatus.RUNNING,
                func.coalesce(SyncJobPartRow.heartbeat_at, SyncJobPartRow.started_at) < deadline,
            )
            .with_for_update(skip_locked=True)
        )
    ).all()
    requeued: list[uuid.UUID] = []
    failed: list[PartLease] = []
    for part in stale:
        base = update(SyncJobPartRow).where(
            SyncJobPartRow.id == part.id, SyncJobPartRow.status == SyncJobStatus.RUNNING
        )
        if part.attempts < max_attempts:
            statement = base.values(status=SyncJobStatus.QUEUED, worker_id=None, heartbeat_at=None)
            requeued.append(part.id)
        else:
            # The recovering worker takes the lease over, only to close the part.
            statement = base.values(worker_id=recovery_worker(part.id), heartbeat_at=now)
            failed.append(
                PartLease(
                    part.id,
                    part.job_id,
                    recovery_worker(part.id),
                    part.account_id,
                    part.account_name,
                    part.weight,
                )
            )
        await session.execute(statement.execution_options(synchronize_session=False))
    if requeued:
        await notify_work(session)
    return StaleParts(requeued, failed)


def recovery_worker(part_id: uuid.UUID) -> str:
    return f"recovery:{part_id}"


def worker_lost(lease: PartLease) -> dict[str, str]:
    return {"scope": f"{lease.prefix}*", "code": "WORKER_LOST", "message": WORKER_LOST_MESSAGE}
