"""A scripted, deterministic `CloudInventory` and helpers for sync-engine tests.

It tests the engine, not a cloud: scopes and their listings are given, failures are queued per
scope, gates (asyncio.Event) hold a listing open, and in-flight calls are measured.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from db.engine import Database
from db.enums import Provider, ResourceStatus, ResourceType
from db.models import CloudCredentialRow, CloudResourceRow, SyncJobRow, SyncScopeRow, UserRow
from providers.base import ProviderError, ResourceRecord, Scope
from sync import SyncOptions, SyncService
from sync.engine import SyncEngine
from sync.progress import ProgressHub


def record(resource_id: str, scope: Scope, **fields: Any) -> ResourceRecord:
    return ResourceRecord(
        provider=Provider.AWS,
        account="123456789012",
        region=scope.region,
        type=ResourceType.VM,
        native_type=scope.kind,
        resource_id=resource_id,
        name=fields.pop("name", resource_id),
        status=fields.pop("status", ResourceStatus.RUNNING),
        **fields,
    )


class ScriptedInventory:
    provider = Provider.AWS

    def __init__(self, listings: dict[Scope, list[ResourceRecord]]) -> None:
        self.listings = dict(listings)
        self.failures: dict[Scope, list[Exception]] = defaultdict(list)
        self.plan_failures: list[Exception] = []
        self.gates: dict[Scope, asyncio.Event] = {}
        self.started: dict[Scope, asyncio.Event] = defaultdict(asyncio.Event)
        self.calls: Counter[Scope] = Counter()
        self.closed = False
        self.in_flight = 0
        self.max_in_flight = 0
        self.region_in_flight: Counter[str] = Counter()
        self.max_region_in_flight: Counter[str] = Counter()

    def drop(self, scope: Scope, resource_id: str) -> None:
        self.listings[scope] = [r for r in self.listings[scope] if r.resource_id != resource_id]

    def rename(self, scope: Scope, resource_id: str, name: str) -> None:
        self.listings[scope] = [
            replace(r, name=name) if r.resource_id == resource_id else r
            for r in self.listings[scope]
        ]

    async def verify(self) -> None:
        return None

    async def close(self) -> None:
        self.closed = True

    async def plan(self) -> list[Scope]:
        if self.plan_failures:
            raise self.plan_failures.pop(0)
        return list(self.listings)

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        self.calls[scope] += 1
        self.in_flight += 1
        self.region_in_flight[scope.region] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_region_in_flight[scope.region] = max(
            self.max_region_in_flight[scope.region], self.region_in_flight[scope.region]
        )
        self.started[scope].set()
        try:
            gate = self.gates.get(scope)
            if gate is not None:
                await gate.wait()
            for _ in range(5):  # yield so that every other runnable listing can start
                await asyncio.sleep(0)
            if self.failures[scope]:
                raise self.failures[scope].pop(0)
            return list(self.listings[scope])
        finally:
            self.in_flight -= 1
            self.region_in_flight[scope.region] -= 1


class FakeSleep:
    """Records backoff delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def throttled() -> ProviderError:
    return ProviderError("THROTTLED", "The cloud throttled the listing.", retryable=True)


def denied() -> ProviderError:
    return ProviderError("PERMISSION_DENIED", "Not allowed to list this.")


def make_service(
    database: Database,
    inventories: dict[uuid.UUID, ScriptedInventory],
    *,
    sleep: FakeSleep | None = None,
    **overrides: Any,
) -> SyncService:
    values: dict[str, Any] = {"interval": None, "heartbeat_seconds": 30.0}
    values.update(overrides)
    options = SyncOptions(**values)
    hub = ProgressHub()

    def factory(row: CloudCredentialRow) -> ScriptedInventory:
        return inventories[row.id]

    engine = SyncEngine(database, factory, hub, options, sleep=sleep or FakeSleep())
    return SyncService(database, factory, options, hub=hub, engine=engine)


async def create_credential(
    database: Database, user: UserRow, *, name: str | None = None, provider: Provider = Provider.AWS
) -> CloudCredentialRow:
    row = CloudCredentialRow(
        id=uuid.uuid4(),
        user_id=user.id,
        provider=provider,
        name=name or f"cred-{uuid.uuid4().hex[:6]}",
        default_region="us-east-1",
        fingerprint="AKIA…TEST",
        key_id="k1",
        ciphertext=b"not-used-by-scripted-inventories",
    )
    async with database.system_session() as session:
        session.add(row)
    return row


async def job(database: Database, job_id: uuid.UUID) -> SyncJobRow:
    async with database.system_session() as session:
        found = await session.get(SyncJobRow, job_id)
    assert found is not None
    return found


async def resources(database: Database, credential_id: uuid.UUID) -> dict[str, CloudResourceRow]:
    async with database.system_session() as session:
        rows = await session.scalars(
            select(CloudResourceRow).where(CloudResourceRow.credential_id == credential_id)
        )
        return {row.resource_id: row for row in rows}


async def scopes(database: Database, credential_id: uuid.UUID) -> dict[str, SyncScopeRow]:
    async with database.system_session() as session:
        rows = await session.scalars(
            select(SyncScopeRow).where(SyncScopeRow.credential_id == credential_id)
        )
        return {f"{row.region}/{row.kind}": row for row in rows}


async def sync_once(service: SyncService, credential_id: uuid.UUID) -> SyncJobRow:
    """Start a sync of one credential and run the queue until it is empty."""
    (started,) = await service.start([credential_id])
    await service.runner.drain()
    return await job(service.database, started.id)


STALE = timedelta(seconds=120)
