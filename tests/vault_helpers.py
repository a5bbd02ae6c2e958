"""Helpers for vault tests: rows sealed directly, database dumps, key rings."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from db.engine import Database
from db.enums import Provider
from db.models import CloudCredentialRow
from providers.secrets import AwsSecret
from providers.vault_access import open_secret, seal_into
from security.vault import Vault


def new_key() -> bytes:
    return secrets.token_bytes(32)


def key_entry(kid: str, key: bytes) -> str:
    return f"{kid}:{base64.b64encode(key).decode()}"


async def seal_rows(
    database: Database, vault: Vault, owners: list[uuid.UUID], count: int
) -> dict[uuid.UUID, AwsSecret]:
    """`count` AWS credentials spread over `owners`, sealed with `vault`; id → plaintext."""
    sealed: dict[uuid.UUID, AwsSecret] = {}
    async with database.system_session() as session:
        for n in range(count):
            secret = AwsSecret(
                access_key_id=f"AKIATEST{n:012d}",
                secret_access_key="rot-" + secrets.token_urlsafe(30),
                session_token=None,
            )
            row = CloudCredentialRow(
                id=uuid.uuid4(),
                user_id=owners[n % len(owners)],
                provider=Provider.AWS,
                name=f"cred-{n:05d}",
                default_region="us-east-1",
            )
            seal_into(row, secret, vault)
            session.add(row)
            sealed[row.id] = secret
    return sealed


async def open_all(database: Database, vault: Vault) -> dict[uuid.UUID, object]:
    async with database.system_session() as session:
        rows = (await session.scalars(select(CloudCredentialRow))).all()
    return {row.id: open_secret(row, vault) for row in rows}


async def database_dump(database_url: str) -> bytes:
    """Every byte the database holds: the SQLite files, or a `pg_dump` of the PostgreSQL one."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    process = await asyncio.create_subprocess_exec(
        "pg_dump",
        "--host",
        url.host or "127.0.0.1",
        "--port",
        str(url.port or 5432),
        "--username",
        "postgres",
        "--no-password",
        str(url.database),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out
