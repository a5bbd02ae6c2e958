"""Inventory rows inserted directly (credentials, resources, jobs, audit events), no sync needed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from db.enums import (
    AuditOutcome,
    HealthStatus,
    Provider,
    ResourceStatus,
    ResourceType,
    SyncJobStatus,
    SyncTrigger,
)
from db.models import AuditEventRow, CloudCredentialRow, CloudResourceRow, SyncJobRow, UserRow
from graph.runtime import Runtime
from sync import aggregates

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


async def create_credential(
    runtime: Runtime,
    owner: UserRow,
    name: str | None = None,
    *,
    provider: Provider = Provider.AWS,
    health: HealthStatus = HealthStatus.UNKNOWN,
) -> CloudCredentialRow:
    credential = CloudCredentialRow(
        id=uuid.uuid4(),
        user_id=owner.id,
        provider=provider,
        name=name or f"cred-{uuid.uuid4().hex[:8]}",
        default_region="us-east-1",
        fingerprint="AKIA…TEST",
        key_id="k1",
        # Never opened by these tests: the read API does not touch secrets.
        ciphertext=b"\x00" * 16,
        health_status=health,
    )
    async with runtime.database.system_session() as session:
        session.add(credential)
    return credential


def resource_values(credential: CloudCredentialRow, index: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": credential.user_id,
        "credential_id": credential.id,
        "provider": credential.provider,
        "account": "123456789012",
        "region": "us-east-1",
        "type": ResourceType.VM,
        "native_type": "AWS::EC2::Instance",
        "resource_id": f"i-{index:08d}-{uuid.uuid4().hex[:6]}",
        "name": f"res-{index:05d}",
        "status": ResourceStatus.RUNNING,
        "tags": {},
        "metadata_": {"index": index},
        "cost_per_hour": None,
        "first_seen_at": BASE_TIME + timedelta(minutes=index),
        "last_synced_at": BASE_TIME + timedelta(hours=1, minutes=index),
        "deleted_at": None,
    }
    values.update(overrides)
    return values


async def insert_resources(runtime: Runtime, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Bulk insert (one statement), so tests with hundreds of rows stay fast; the aggregates
    the sync engine would have kept are rebuilt for those credentials."""
    if rows:
        async with runtime.database.system_session() as session:
            await session.execute(insert(CloudResourceRow), list(rows))
            await aggregates.rebuild(session, {row["credential_id"] for row in rows})
    return [row["id"] for row in rows]


async def create_resources(
    runtime: Runtime, credential: CloudCredentialRow, count: int, **overrides: Any
) -> list[uuid.UUID]:
    return await insert_resources(
        runtime, [resource_values(credential, i, **overrides) for i in range(count)]
    )


async def create_sync_job(
    runtime: Runtime,
    credential: CloudCredentialRow,
    *,
    status: SyncJobStatus = SyncJobStatus.SUCCEEDED,
    queued_at: datetime | None = None,
    added: int = 0,
) -> SyncJobRow:
    queued = queued_at or BASE_TIME
    job = SyncJobRow(
        id=uuid.uuid4(),
        user_id=credential.user_id,
        credential_id=credential.id,
        status=status,
        trigger=SyncTrigger.MANUAL,
        queued_at=queued,
        started_at=queued + timedelta(seconds=1),
        finished_at=queued + timedelta(seconds=5) if status != SyncJobStatus.RUNNING else None,
        progress=1.0,
        added=added,
        errors=[],
    )
    async with runtime.database.system_session() as session:
        session.add(job)
    return job


async def create_audit_event(
    runtime: Runtime,
    user: UserRow | None,
    action: str = "login",
    *,
    created_at: datetime | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
) -> AuditEventRow:
    event = AuditEventRow(
        id=uuid.uuid4(),
        user_id=user.id if user else None,
        action=action,
        outcome=outcome,
        ip="203.0.113.10",
        details={},
        created_at=created_at or BASE_TIME,
    )
    async with runtime.database.system_session() as session:
        session.add(event)
    return event
