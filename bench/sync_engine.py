"""The sync engine's own cost: a sync of 1,000 and 10,000 resources from an in-memory inventory
(no cloud, so every second is ours), against the floor of one raw multi-row insert of the same rows.

Measured per backend (SQLite; PostgreSQL when reachable): a first sync (all inserts), a re-sync
(all updates), rows per second, and the peak Python memory of the sync (tracemalloc), which must
grow with the largest scope's listing (the protocol hands over a whole scope), not with the job.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, insert

from db.engine import Database, create_engine
from db.enums import Provider, ResourceStatus, ResourceType, Role, SyncJobStatus
from db.migrate import upgrade_async
from db.models import CloudCredentialRow, CloudResourceRow, UserRow
from db.types import utcnow
from providers.base import ResourceRecord, Scope
from sync import ProgressHub, SyncOptions, SyncService
from sync.engine import SyncEngine

COUNTS = tuple(int(n) for n in os.environ.get("BENCH_SYNC_COUNTS", "1000,10000").split(","))
PER_SCOPE = (
    100  # resources per scope: 10 scopes for 1,000, 100 for 10,000 (AWS: ~17 regions × 7 kinds)
)
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


class MemoryInventory:
    provider = Provider.AWS

    def __init__(self, count: int) -> None:
        self.closed = False
        self.scopes = [Scope(f"region-{n % 17}", f"kind-{n}") for n in range(count // PER_SCOPE)]

    async def verify(self) -> None:
        return None

    async def close(self) -> None:
        self.closed = True

    async def plan(self) -> list[Scope]:
        return list(self.scopes)

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        return [
            ResourceRecord(
                provider=Provider.AWS,
                account="123456789012",
                region=scope.region,
                type=ResourceType.VM,
                native_type=scope.kind,
                resource_id=f"arn:aws:ec2:{scope.region}:123456789012:instance/{scope.kind}-{n}",
                name=f"{scope.kind}-{n}",
                status=ResourceStatus.RUNNING,
                tags={"env": "bench", "team": "infra"},
                metadata={"instanceType": "t3.micro", "privateIp": "10.0.0.1"},
                cost_per_hour=0.0104,
            )
            for n in range(PER_SCOPE)
        ]


async def _setup(url: str) -> tuple[Database, CloudCredentialRow]:
    await upgrade_async(url)
    database = Database(create_engine(url))
    user = UserRow(id=uuid.uuid4(), email="bench@example.com", full_name="B", password_hash="!",
                role=Role.USER)  # fmt: skip
    credential = CloudCredentialRow(id=uuid.uuid4(), user_id=user.id, provider=Provider.AWS,
                                 name="bench", default_region="us-east-1", fingerprint="x",
                                 key_id="k", ciphertext=b"x")  # fmt: skip
    async with database.system_session() as session:
        session.add(user)
        await session.flush()
        session.add(credential)
    return database, credential


async def _floor(database: Database, credential: CloudCredentialRow, count: int) -> float:
    """One raw multi-row INSERT per 500 rows, no counting, no stale marking: the floor."""
    inventory = MemoryInventory(count)
    now = utcnow()
    started = time.perf_counter()
    for scope in inventory.scopes:
        rows: list[dict[str, Any]] = [
            {"id": uuid.uuid4(), "user_id": credential.user_id, "credential_id": credential.id,
             "provider": r.provider, "account": r.account, "region": r.region,
             "type": r.type, "native_type": r.native_type, "resource_id": r.resource_id,
             "name": r.name, "status": r.status, "tags": r.tags, "metadata_": r.metadata,
             "cost_per_hour": r.cost_per_hour, "first_seen_at": now, "last_synced_at": now}
            for r in await inventory.list_scope(scope)
        ]  # fmt: skip
        async with database.system_session() as session:
            await session.execute(insert(CloudResourceRow), rows)
    elapsed = time.perf_counter() - started
    async with database.system_session() as session:
        await session.execute(delete(CloudResourceRow))
    return elapsed


async def _sync(
    database: Database, credential: CloudCredentialRow, count: int, *, traced: bool = False
) -> tuple[float, int]:
    """One sync; wall time, and with `traced` the peak traced memory (tracemalloc slows
    allocation, so timed runs are not traced)."""
    inventory = MemoryInventory(count)
    options = SyncOptions(interval=None)
    hub = ProgressHub()
    engine = SyncEngine(database, lambda _: inventory, hub, options)
    service = SyncService(database, lambda _: inventory, options, hub=hub, engine=engine)
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    (job,) = await service.start([credential.id])
    await service.runner.drain()
    elapsed = time.perf_counter() - started
    peak = 0
    if traced:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    async with database.system_session() as session:
        from db.models import SyncJobRow

        done = await session.get(SyncJobRow, job.id)
    assert done is not None and done.status == SyncJobStatus.SUCCEEDED
    return elapsed, peak


async def _run(backend: str, url: str, counts: tuple[int, ...]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for count in counts:
        database, credential = await _setup(url.format(count=count))
        try:
            floor = await _floor(database, credential, count)
            first, _ = await _sync(database, credential, count)
            again, _ = await _sync(database, credential, count)
            _, peak = await _sync(database, credential, count, traced=True)
        finally:
            await database.dispose()
        rows.append(
            {
                "case": f"{backend} sync {count:,}",
                "floor s": f"{floor:.2f}",
                "first sync s": f"{first:.2f}",
                "re-sync s": f"{again:.2f}",
                "rows/s (first)": f"{count / first:,.0f}",
                "× floor": f"{floor / first:.2f}",
                "peak MiB": f"{peak / 2**20:.1f}",
            }
        )
    return rows


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), 2):
            return True
    except OSError:
        return False


async def _with_postgres() -> list[dict[str, object]]:
    names = [f"stratograph_bench_sync_{uuid.uuid4().hex[:8]}_{count}" for count in COUNTS]
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
        rows: list[dict[str, object]] = []
        for count, name in zip(COUNTS, names, strict=True):
            rows += await _run("postgres", f"{base}/{name}", (count,))
        return rows
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _main() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory)}/bench-{{count}}.db"
        rows = await _run("sqlite", url, COUNTS)
    if _postgres_reachable():
        rows += await _with_postgres()
    return rows


def main() -> list[dict[str, object]]:
    return asyncio.run(_main())
