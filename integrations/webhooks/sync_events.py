"""`SYNC_FINISHED`: queued by the sync engine in the transaction that writes a job's final state."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import WebhookEvent
from db.models import SyncJobRow
from integrations.webhooks.events import enqueue_event


def global_id(type_name: str, local_id: uuid.UUID) -> str:
    """The GraphQL global ID of a row (what `node(id:)` takes); tests pin it to the schema's."""
    raw = f"{type_name}:{local_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def sync_job_finished(session: AsyncSession, job_id: uuid.UUID) -> int:
    """Queue the job's `sync.finished` deliveries; returns how many were queued."""
    job = (
        await session.execute(
            select(
                SyncJobRow.user_id,
                SyncJobRow.credential_id,
                SyncJobRow.status,
                SyncJobRow.trigger,
                SyncJobRow.queued_at,
                SyncJobRow.started_at,
                SyncJobRow.finished_at,
                SyncJobRow.added,
                SyncJobRow.updated,
                SyncJobRow.removed,
                SyncJobRow.errors,
            ).where(SyncJobRow.id == job_id)
        )
    ).first()
    if job is None:
        return 0
    data: dict[str, Any] = {
        "syncJob": {
            "id": global_id("SyncJob", job_id),
            "credentialId": global_id("CloudCredential", job.credential_id),
            "status": job.status.value,
            "trigger": job.trigger.value,
            "queuedAt": _time(job.queued_at),
            "startedAt": _time(job.started_at),
            "finishedAt": _time(job.finished_at),
            "added": job.added,
            "updated": job.updated,
            "removed": job.removed,
            # {scope, code, message}: messages are safe by the engine's contract.
            "errors": list(job.errors or []),
        }
    }
    return await enqueue_event(session, job.user_id, WebhookEvent.SYNC_FINISHED, data)
