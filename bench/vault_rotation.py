"""Key rotation throughput for 10,000 credentials, against raw AES-GCM on the same blobs.

Baseline: decrypt + encrypt of the very same ciphertexts in memory (`Vault.reseal`), the floor of
what any rotation must do. Measured: `rotate_keys` end to end (read a batch, re-seal, compare-and-
swap update, commit), on SQLite and, when it is reachable, PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert

from db.engine import Database, create_engine
from db.enums import HealthStatus, Provider, Role
from db.migrate import upgrade_async
from db.models import CloudCredentialRow, UserRow
from db.types import utcnow
from providers.secrets import AwsSecret, serialize
from security.vault import Sealed, Vault
from stratograph.key_rotation import rotate_keys

COUNT = int(os.environ.get("BENCH_ROTATION_COUNT", "10000"))
BATCH_SIZE = 500
OWNERS = 100
CREDENTIALS: Any = CloudCredentialRow.__table__
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _sealed_rows(vault: Vault, owners: list[uuid.UUID]) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for n in range(COUNT):
        credential_id, owner = uuid.uuid4(), owners[n % len(owners)]
        secret = AwsSecret(f"AKIABENCH{n:011d}", secrets.token_urlsafe(30), None)
        sealed = vault.seal(serialize(secret), owner, credential_id)
        rows.append(
            {
                "id": credential_id,
                "user_id": owner,
                "provider": Provider.AWS,
                "name": f"bench-{n:05d}",
                "default_region": "us-east-1",
                "fingerprint": "AKIA…",
                "key_id": sealed.key_id,
                "ciphertext": sealed.blob,
                "created_at": now,
                "updated_at": now,
                "health_status": HealthStatus.UNKNOWN,
            }
        )
    return rows


def baseline_per_second(rows: list[dict[str, Any]], vault: Vault) -> float:
    started = time.perf_counter()
    for row in rows:
        vault.reseal(Sealed(row["key_id"], row["ciphertext"]), row["user_id"], row["id"])
    return len(rows) / (time.perf_counter() - started)


async def rotation_per_second(url: str, rows: list[dict[str, Any]], vault: Vault) -> float:
    await upgrade_async(url)
    database = Database(create_engine(url))
    try:
        owners = sorted({row["user_id"] for row in rows})
        async with database.system_session() as session:
            await session.execute(
                insert(UserRow),
                [
                    {"id": o, "email": f"{o}@bench.invalid", "full_name": "b", "password_hash": "!"}
                    | {"role": Role.USER, "is_active": True}
                    for o in owners
                ],
            )
            await session.execute(insert(CREDENTIALS), rows)
        started = time.perf_counter()
        report = await rotate_keys(database, vault, batch_size=BATCH_SIZE, progress=False)
        elapsed = time.perf_counter() - started
        assert report.complete and report.rotated == len(rows), report
        return len(rows) / elapsed
    finally:
        await database.dispose()


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), 1):
            return True
    except OSError:
        return False


async def _on_postgres(rows: list[dict[str, Any]], vault: Vault) -> float:
    name = f"stratograph_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        host = POSTGRES_DSN.split("@", 1)[1].split("/", 1)[0]
        return await rotation_per_second(
            f"postgresql+asyncpg://postgres@{host}/{name}", rows, vault
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> list[dict[str, object]]:
    old, new = os.urandom(32), os.urandom(32)
    before, ring = Vault({"k1": old}), Vault({"k2": new, "k1": old})
    owners = [uuid.uuid4() for _ in range(OWNERS)]
    rows = _sealed_rows(before, owners)
    floor = baseline_per_second(rows, ring)
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        measured = {"sqlite": asyncio.run(rotation_per_second(url, rows, ring))}
    if _postgres_reachable():
        measured["postgresql"] = asyncio.run(_on_postgres(rows, ring))
    for backend, per_second in measured.items():
        results.append(
            {
                "case": f"rotate-keys {COUNT} credentials, {backend}, batch {BATCH_SIZE}",
                "credentials/s": f"{per_second:,.0f}",
                "baseline": f"{floor:,.0f}/s raw AES-GCM reseal",
                "ratio": f"{per_second / floor:.3f}",
            }
        )
    return results
