"""Backup and verified restore of an inventory, against the unencrypted copy of the same data.

Baseline: the engine's own copy without our work — SQLite's backup API into a file, or
`pg_dump --format=custom` — so the ratio shows what the manifest, the consistent snapshot
bookkeeping and AES-256-GCM sealing add. Measured: `create_backup` end to end, and
`restore --verify` (decrypt, authenticate, restore into a scratch database, migrate, count,
open every credential). Knobs: BENCH_BACKUP_RESOURCES (50,000), BENCH_BACKUP_CREDENTIALS (100).
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import socket
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert

from core.settings import Settings
from db.engine import Database, create_engine
from db.enums import Provider, ResourceStatus, ResourceType, Role
from db.migrate import upgrade_async
from db.models import CloudCredentialRow, CloudResourceRow, UserRow
from db.types import utcnow
from providers.secrets import AwsSecret
from providers.vault_access import seal_into
from security.vault import Vault
from stratograph.backup import postgres
from stratograph.backup.create import create_backup
from stratograph.backup.verify import verify_backup

RESOURCES = int(os.environ.get("BENCH_BACKUP_RESOURCES", "50000"))
CREDENTIALS = int(os.environ.get("BENCH_BACKUP_CREDENTIALS", "100"))
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _settings(url: str, directory: Path) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=url,
        secret_key=secrets.token_urlsafe(48),
        encryption_keys=["b1:" + base64.b64encode(secrets.token_bytes(32)).decode()],
        backup_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        dev_secrets_file=str(directory / "secrets.json"),
    )


async def _seed(settings: Settings) -> None:
    database = Database(create_engine(settings.database_url))
    vault = Vault(settings.vault_keys)
    user = UserRow(id=uuid.uuid4(), email="bench@example.com", full_name="B", password_hash="!")
    user.role = Role.USER
    credentials = []
    for n in range(CREDENTIALS):
        row = CloudCredentialRow(
            id=uuid.uuid4(),
            user_id=user.id,
            provider=Provider.AWS,
            name=f"bench-{n}",
            default_region="us-east-1",
        )
        seal_into(row, AwsSecret(f"AKIABENCH{n:011d}", secrets.token_urlsafe(30), None), vault)
        credentials.append(row)
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "user_id": user.id,
            "credential_id": credentials[n % CREDENTIALS].id,
            "provider": Provider.AWS,
            "account": "123456789012",
            "region": "us-east-1",
            "type": ResourceType.VM,
            "native_type": "AWS::EC2::Instance",
            "resource_id": f"arn:aws:ec2:us-east-1:123456789012:instance/i-{n:017d}",
            "name": f"web-{n}",
            "status": ResourceStatus.RUNNING,
            "tags": {"env": "prod", "team": f"t{n % 20}"},
            "metadata_": {
                "instanceType": "t3.micro",
                "privateIp": f"10.0.{n // 256 % 256}.{n % 256}",
            },
            "cost_per_hour": 0.0104,
            "first_seen_at": now,
            "last_synced_at": now,
        }
        for n in range(RESOURCES)
    ]
    try:
        async with database.system_session() as session:
            session.add(user)
            session.add_all(credentials)
        for start in range(0, len(rows), 5000):
            async with database.system_session() as session:
                await session.execute(insert(CloudResourceRow), rows[start : start + 5000])
    finally:
        await database.dispose()


async def _baseline(settings: Settings, directory: Path) -> float:
    started = time.perf_counter()
    if settings.is_sqlite:
        source = settings.database_url.split("///", 1)[1]
        with sqlite3.connect(source) as src, sqlite3.connect(directory / "plain.db") as dst:
            src.backup(dst)
    else:
        env = postgres.libpq_env(settings.database_url)
        process = await asyncio.create_subprocess_exec(
            postgres.find_tool("pg_dump"), "--format=custom", f"--file={directory / 'plain'}",
            env=env,
        )  # fmt: skip
        await process.wait()
    return time.perf_counter() - started


async def _case(name: str, settings: Settings, directory: Path) -> dict[str, object]:
    await upgrade_async(settings.database_url)
    await _seed(settings)
    baseline = await _baseline(settings, directory)
    output = directory / "bench.backup"
    started = time.perf_counter()
    await create_backup(settings, output)
    backup_s = time.perf_counter() - started
    started = time.perf_counter()
    work = directory / "verify"
    work.mkdir()
    report = await verify_backup(settings, output, work)
    verify_s = time.perf_counter() - started
    assert report.ok, report.lines()
    return {
        "case": f"{name} {RESOURCES:,} resources, {CREDENTIALS} credentials",
        "ratio": f"{baseline / backup_s:.2f}",
        "baseline": f"{baseline:.2f}s plain copy",
        "measured": f"{backup_s:.2f}s backup",
        "verify s": f"{verify_s:.2f}",
        "file MiB": f"{output.stat().st_size / 2**20:.1f}",
    }


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), 1):
            return True
    except OSError:
        return False


async def _run() -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        sqlite_dir = directory / "sqlite"
        sqlite_dir.mkdir()
        rows.append(await _case("SQLite", _settings(url, directory), sqlite_dir))
    if _postgres_reachable():
        name = f"stratograph_bench_backup_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(POSTGRES_DSN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            with tempfile.TemporaryDirectory() as tmp:
                settings = _settings(f"{base}/{name}", Path(tmp))
                rows.append(await _case("PostgreSQL", settings, Path(tmp)))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    return rows


def main() -> list[dict[str, object]]:
    return asyncio.run(_run())


if __name__ == "__main__":
    for row in main():
        print(row)
