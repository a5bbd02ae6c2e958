"""What recording history adds to a sync: the same syncs with change records on and off, in the
same run, interleaved, on SQLite (PostgreSQL too when reachable).

Three cases per count: a first sync (every resource CREATED), an unchanged re-sync (the widened
read and the comparison, nothing written), and a re-sync where 10 % of the instances were
retagged and changed a setting, 10 % moved to another security group and 2 % vanished. "Off"
swaps the change log for one that records nothing and narrows the reads back to what the engine
read before history existed (the relations' DELETE keeps its RETURNING); everything else is the
real engine. Measured in CPU seconds of
this process (wall time on a shared machine mostly measures the neighbours); medians of the
rounds; the ratio is on / off. On PostgreSQL the server's own CPU is not counted.

Knobs: BENCH_HISTORY_COUNTS (default "10000"), BENCH_ROUNDS (default 3),
BENCH_HISTORY_POSTGRES=0 to skip PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

import sync.aggregates
import sync.dropped_scopes
import sync.scopes
import sync.store
import sync.upsert
from db.engine import Database, create_engine
from db.enums import Provider, RelationType, ResourceStatus, ResourceType, Role, SyncJobStatus
from db.migrate import upgrade_async
from db.models import CloudCredentialRow, CloudResourceRow, SyncJobRow, UserRow
from providers.base import Relation, ResourceRecord, Scope
from sync import SyncOptions, SyncService

COUNTS = tuple(int(n) for n in os.environ.get("BENCH_HISTORY_COUNTS", "10000").split(","))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PER_SCOPE = 500
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _listing(count: int, *, changed: bool) -> dict[Scope, list[ResourceRecord]]:
    scopes = [Scope(f"region-{n}", "AWS::EC2::Instance") for n in range(count // PER_SCOPE)]
    listings: dict[Scope, list[ResourceRecord]] = {}
    for s, scope in enumerate(scopes):
        records = []
        for n in range(PER_SCOPE):
            index = s * PER_SCOPE + n
            group = f"sg-{index % 7}"
            record = ResourceRecord(
                provider=Provider.AWS,
                account="123456789012",
                region=scope.region,
                type=ResourceType.VM,
                native_type=scope.kind,
                resource_id=f"arn:aws:ec2:{scope.region}:123456789012:instance/i-{index:08d}",
                name=f"web-{index}",
                status=ResourceStatus.RUNNING,
                tags={"Name": f"web-{index}", "env": "prod", "team": "infra"},
                metadata={"instanceType": "t3.micro", "privateIp": "10.0.0.1"},
                configuration={
                    "securityGroupIds": [group],
                    "publicIp": None,
                    "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"},
                    "ebsOptimized": False,
                },
                relations=(
                    Relation(RelationType.PROTECTED_BY, group),
                    Relation(RelationType.MEMBER_OF, f"subnet-{index % 3}"),
                ),
            )
            if changed and index % 50 == 1:
                continue  # 2 % vanished
            if changed and index % 10 == 2:
                record = replace(
                    record,
                    tags={**record.tags, "env": "staging"},
                    configuration={**record.configuration, "ebsOptimized": True},
                )
            if changed and index % 10 == 3:
                moved = f"sg-moved-{index % 5}"
                record = replace(
                    record,
                    configuration={**record.configuration, "securityGroupIds": [moved]},
                    relations=(
                        Relation(RelationType.PROTECTED_BY, moved),
                        Relation(RelationType.MEMBER_OF, f"subnet-{index % 3}"),
                    ),
                )
            records.append(record)
        listings[scope] = records
    return listings


class Listed:
    provider = Provider.AWS

    def __init__(self, listings: dict[Scope, list[ResourceRecord]]) -> None:
        self.listings = listings

    async def verify(self) -> None:
        return None

    async def plan(self) -> list[Scope]:
        return list(self.listings)

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        return self.listings[scope]

    async def close(self) -> None:
        return None


class _NoChanges:
    """A change log that records nothing: the engine as it was before history."""

    def __init__(self, *_: Any) -> None:
        self.rows: list[Any] = []

    def upserted(self, *_: Any) -> None:
        return None

    def deleted(self, *_: Any) -> None:
        return None

    async def relations_replaced(self, *_: Any) -> None:
        return None

    async def write(self, *_: Any) -> None:
        return None


@contextmanager
def _history(on: bool) -> Iterator[None]:
    if on:
        yield
        return
    # Where the write path reaches history, and what it did before history existed.
    off: dict[tuple[Any, str], Any] = {
        (sync.store, "ChangeLog"): _NoChanges,
        (sync.scopes, "ChangeLog"): _NoChanges,
        (sync.dropped_scopes, "ChangeLog"): _NoChanges,
        (sync.upsert, "_BEFORE"): sync.upsert.table_columns(
            CloudResourceRow.resource_id,
            CloudResourceRow.deleted_at,
            *sync.aggregates.DIMENSIONS,
        ),
        (sync.store, "MARKED_COLUMNS"): sync.upsert.table_columns(*sync.aggregates.DIMENSIONS),
    }
    saved = {key: getattr(*key) for key in off}
    for (module, name), value in off.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)


async def _database(url: str) -> tuple[Database, CloudCredentialRow]:
    await upgrade_async(url)
    database = Database(create_engine(url))
    user = UserRow(id=uuid.uuid4(), email=f"{uuid.uuid4().hex[:8]}@example.com", full_name="B",
                   password_hash="!", role=Role.USER)  # fmt: skip
    credential = CloudCredentialRow(id=uuid.uuid4(), user_id=user.id, provider=Provider.AWS,
                                    name="bench", default_region="us-east-1", fingerprint="x",
                                    key_id="k", ciphertext=b"x")  # fmt: skip
    async with database.system_session() as session:
        session.add(user)
        await session.flush()
        session.add(credential)
    return database, credential


async def _sync(database: Database, credential: CloudCredentialRow, inventory: Listed) -> float:
    """The sync's CPU seconds in this process (the engine, SQLAlchemy, the drivers, and SQLite,
    which runs in a thread of ours): unlike wall time, barely moved by other processes."""
    service = SyncService(database, lambda _: inventory, SyncOptions(interval=None))
    started = time.process_time()
    (job,) = await service.start([credential.id])
    await service.runner.drain()
    elapsed = time.process_time() - started
    async with database.system_session() as session:
        done = await session.get(SyncJobRow, job.id)
    assert done is not None and done.status == SyncJobStatus.SUCCEEDED
    return elapsed


async def _case(url: str, count: int, case: str, on: bool) -> float:
    database, credential = await _database(url)
    try:
        base = Listed(_listing(count, changed=False))
        if case == "first":
            with _history(on):
                return await _sync(database, credential, base)
        with _history(on):
            await _sync(database, credential, base)  # not timed: the state to re-sync
            again = base if case == "unchanged" else Listed(_listing(count, changed=True))
            return await _sync(database, credential, again)
    finally:
        await database.dispose()


async def _run(backend: str, make_url: Callable[[], Awaitable[str]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for count in COUNTS:
        for case in ("first", "unchanged", "changed"):
            times: dict[bool, list[float]] = {True: [], False: []}
            for round_ in range(ROUNDS):
                # Alternate which goes first, so drift on a busy machine falls on both.
                for on in (True, False) if round_ % 2 == 0 else (False, True):
                    times[on].append(await _case(await make_url(), count, case, on))
            on_s, off_s = statistics.median(times[True]), statistics.median(times[False])
            rows.append(
                {
                    "case": f"{backend}, {count:,} resources, {case} sync",
                    "history on CPU s": f"{on_s:.2f}",
                    "history off CPU s": f"{off_s:.2f}",
                    "on / off": f"{on_s / off_s:.2f}",
                    "history's share": f"{(on_s - off_s) / on_s:.0%}",
                }
            )
    return rows


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), 2):
            return True
    except OSError:
        return False


async def _postgres() -> list[dict[str, object]]:
    admin = await asyncpg.connect(POSTGRES_DSN)
    base = POSTGRES_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    names: list[str] = []

    async def make_url() -> str:
        names.append(f"stratograph_bench_history_{uuid.uuid4().hex[:10]}")
        await admin.execute(f'CREATE DATABASE "{names[-1]}"')
        return f"{base}/{names[-1]}"

    try:
        return await _run("postgres", make_url)
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _main() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as directory:
        numbers = iter(range(10**6))

        async def make_url() -> str:
            return f"sqlite+aiosqlite:///{Path(directory)}/h-{next(numbers)}.db"

        rows = await _run("sqlite", make_url)
    if _postgres_reachable() and os.environ.get("BENCH_HISTORY_POSTGRES", "1") != "0":
        rows += await _postgres()
    return rows


def main() -> list[dict[str, object]]:
    return asyncio.run(_main())
