"""A PostgreSQL database filled for the read-API benchmark: one big inventory among many users."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db.enums import AuditOutcome, HealthStatus, Provider, Role, SyncJobStatus, SyncTrigger
from db.migrate import upgrade_async
from db.models import AuditEventRow, CloudCredentialRow, SyncJobRow, UserRow
from graph.runtime import Runtime
from sync import aggregates

PROVIDERS = (Provider.AWS, Provider.AZURE, Provider.GCP)
REGIONS = [f"region-{n:02d}" for n in range(16)]
COPY_SLICE = 100_000
KINDS = [
    ("VM", "Instance", 0.0416),
    ("STORAGE", "Bucket", 0.0023),
    ("NETWORK", "Network", None),
    ("DATABASE", "Database", 0.17),
    ("FUNCTION", "Function", None),
    ("OTHER", "Other", None),
]
STATUSES = ["RUNNING", "STOPPED", "ACTIVE", "PENDING"]
RESOURCE_COLUMNS = [
    "id", "user_id", "credential_id", "provider", "account", "region", "type", "native_type",
    "resource_id", "name", "status", "tags", "metadata", "cost_per_hour", "first_seen_at",
    "last_synced_at", "deleted_at",
]  # fmt: skip
START = datetime(2026, 1, 1, tzinfo=UTC)


def asyncpg_dsn(admin_dsn: str, database: str) -> str:
    parts = urlsplit(admin_dsn)
    return urlunsplit(("postgresql", parts.netloc, f"/{database}", parts.query, ""))


def sqlalchemy_url(admin_dsn: str, database: str) -> str:
    parts = urlsplit(admin_dsn)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{database}", parts.query, ""))


async def create_database(admin_dsn: str) -> str:
    name = f"stratograph_bench_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    await upgrade_async(sqlalchemy_url(admin_dsn, name))
    return name


async def drop_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@dataclass
class Dataset:
    user: UserRow
    credentials: list[CloudCredentialRow]


def _resource_rows(
    owner: uuid.UUID,
    credentials: list[CloudCredentialRow],
    count: int,
    rng: random.Random,
    first: int = 0,
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for n in range(first, first + count):
        credential = credentials[n % len(credentials)]
        type_, kind, price = KINDS[n % len(KINDS)]
        provider = credential.provider.value
        seen = START + timedelta(seconds=n)
        rows.append(
            (
                uuid.uuid4(), owner, credential.id, provider, f"acct-{provider.lower()}",
                rng.choice(REGIONS), type_, f"{provider}::{kind}", f"{provider.lower()}-{n:07d}",
                f"{kind.lower()}-{rng.randrange(10**6):06d}-{n}", rng.choice(STATUSES),
                json.dumps({"env": rng.choice(["prod", "dev"]), "team": f"t{n % 7}"}),
                json.dumps({"size": "m5.large", "ip": f"10.0.{n % 250}.{n % 200}"}),
                price, seen, seen + timedelta(days=1), None,
            )
        )  # fmt: skip
    return rows


async def populate(
    runtime: Runtime, dsn: str, users: int, resources: int, other_resources: int, credentials: int
) -> Dataset:
    """`users` users; the first owns `resources` resources over `credentials` credentials, the
    others `other_resources` each. Every credential has sync jobs; the first user audit events."""
    rng = random.Random(7)
    owners = [
        UserRow(
            id=uuid.uuid4(),
            email=f"bench-{n}@example.com",
            full_name=f"Bench {n}",
            password_hash="!",
            role=Role.USER,
        )
        for n in range(users)
    ]
    per_owner: dict[uuid.UUID, list[CloudCredentialRow]] = {}
    async with runtime.database.system_session() as session:
        session.add_all(owners)
        await session.flush()
        for index, owner in enumerate(owners):
            count = credentials if index == 0 else 2
            per_owner[owner.id] = [
                CloudCredentialRow(
                    id=uuid.uuid4(),
                    user_id=owner.id,
                    provider=PROVIDERS[c % len(PROVIDERS)],
                    name=f"credential-{c:02d}",
                    default_region="region-00",
                    fingerprint="AKIA…BNCH",
                    key_id="k1",
                    ciphertext=b"\x00" * 16,
                    health_status=HealthStatus.HEALTHY,
                    health_checked_at=START,
                )
                for c in range(count)
            ]
            session.add_all(per_owner[owner.id])
        await session.flush()
        for owner in owners:
            for credential in per_owner[owner.id]:
                for j in range(3):
                    queued = START + timedelta(hours=j)
                    session.add(
                        SyncJobRow(
                            user_id=owner.id,
                            credential_id=credential.id,
                            status=SyncJobStatus.SUCCEEDED,
                            trigger=SyncTrigger.SCHEDULED,
                            queued_at=queued,
                            started_at=queued,
                            finished_at=queued + timedelta(minutes=2),
                            progress=1.0,
                            added=10,
                            errors=[],
                        )
                    )
        for n in range(20):
            session.add(
                AuditEventRow(
                    user_id=owners[0].id,
                    action="login",
                    outcome=AuditOutcome.SUCCESS,
                    created_at=START + timedelta(minutes=n),
                    details={},
                )
            )
    connection = await asyncpg.connect(dsn)
    try:
        for index, owner in enumerate(owners):
            count = resources if index == 0 else other_resources
            # In slices, so a million rows never sit in memory at once.
            for first in range(0, count, COPY_SLICE):
                rows = _resource_rows(
                    owner.id, per_owner[owner.id], min(COPY_SLICE, count - first), rng, first
                )
                await connection.copy_records_to_table(
                    "resources", records=rows, columns=RESOURCE_COLUMNS
                )
    finally:
        await connection.close()
    # Rows copied in directly: the aggregates a sync would have kept are computed once.
    async with runtime.database.system_session() as session:
        await aggregates.rebuild(session)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return Dataset(owners[0], per_owner[owners[0].id])
