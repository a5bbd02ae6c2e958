"""PostgreSQL: a logical dump with `pg_dump` of one exported snapshot, so the dump and the
manifest's row counts describe the same instant while syncs keep writing; restore with
`pg_restore` in a single transaction.

The dump runs with `app.role=system` and `--enable-row-security`, so it works as the owner
(whose rows FORCEd row-level security would otherwise filter) as well as a superuser. Without
the client tools it says so: physical backups (pg_basebackup + WAL archiving) are then the way.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

from db.tls import asyncpg_tls
from stratograph.backup.container import BackupFileError
from stratograph.backup.snapshot import SnapshotFacts, quote_identifier

NO_TOOLS = (
    "{tool} was not found (looked in PATH and /usr/lib/postgresql/*/bin). Install the "
    "PostgreSQL client tools of the server's major version, or back up PostgreSQL physically "
    "instead: pg_basebackup plus WAL archiving (docs/operations.md, 'PostgreSQL without "
    "pg_dump')."
)
SYSTEM_ROLE_OPTION = "-c app.role=system"


class ToolMissing(BackupFileError):
    """pg_dump / pg_restore is not installed."""


def find_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise ToolMissing(NO_TOOLS.format(tool=name))


def libpq_env(database_url: str | URL) -> dict[str, str]:
    """The connection as libpq environment variables: no password on a command line."""
    url = make_url(database_url)
    env = dict(os.environ)
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    query = dict(url.query)
    if "ssl" in query and "sslmode" not in query:
        query["sslmode"] = query["ssl"]
    for key, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        values[variable] = str(query[key]) if key in query else None
    env.update({k: str(v) for k, v in values.items() if v is not None})
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " " + SYSTEM_ROLE_OPTION).strip()
    return env


async def connect(database_url: str | URL, database: str | None = None) -> asyncpg.Connection:
    url = make_url(database_url)
    if database is not None:
        url = url.set(database=database)
    cleaned, tls = asyncpg_tls(url)
    kwargs: dict[str, Any] = dict(tls)
    for key, value in cleaned.query.items():
        if key == "ssl":
            kwargs["ssl"] = value
    return await asyncpg.connect(
        host=cleaned.host,
        port=cleaned.port or 5432,
        user=cleaned.username,
        password=cleaned.password,
        database=cleaned.database,
        **kwargs,
    )


async def _facts(connection: asyncpg.Connection) -> SnapshotFacts:
    tables = [
        str(row["tablename"])
        for row in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    ]
    counts = {
        table: int(await connection.fetchval(f"SELECT count(*) FROM {quote_identifier(table)}"))  # noqa: S608
        for table in tables
    }
    revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    keys = await connection.fetch(
        "SELECT key_id, count(*) AS n FROM cloud_credentials GROUP BY key_id"
    )
    return SnapshotFacts(
        schema_revision=str(revision or ""),
        row_counts=counts,
        credentials_per_key={str(row["key_id"]): int(row["n"]) for row in keys},
    )


async def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        tool, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip()[-2000:]
        raise BackupFileError(f"{Path(tool).name} failed (exit {process.returncode}): {message}")


async def snapshot(database_url: str, target: Path) -> SnapshotFacts:
    """Dump the database as of one snapshot, and read the manifest's facts from that snapshot."""
    pg_dump = find_tool("pg_dump")
    connection = await connect(database_url)
    try:
        transaction = connection.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()
        try:
            await connection.execute("SELECT set_config('app.role', 'system', true)")
            snapshot_id = await connection.fetchval("SELECT pg_export_snapshot()")
            facts = await _facts(connection)
            await _run(
                pg_dump,
                [
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    "--enable-row-security",
                    "--no-password",
                    f"--file={target}",
                ],
                libpq_env(database_url),
            )
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    return facts


async def restore(dump: Path, database_url: str | URL) -> None:
    """Replace the target database's objects with the dump's, all or nothing."""
    pg_restore = find_tool("pg_restore")
    env = libpq_env(database_url)
    await _run(
        pg_restore,
        [
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-password",
            f"--dbname={env['PGDATABASE']}",
            str(dump),
        ],
        env,
    )


async def row_counts(database_url: str | URL) -> dict[str, int]:
    connection = await connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute("SELECT set_config('app.role', 'system', true)")
            return (await _facts(connection)).row_counts
    finally:
        await connection.close()


async def create_scratch(database_url: str) -> URL:
    """A new empty database beside the target (needs CREATEDB), for `restore --verify`."""
    url = make_url(database_url)
    name = f"{(url.database or 'stratograph')[:40]}_verify_{uuid.uuid4().hex[:8]}"
    connection = await connect(url)
    try:
        await connection.execute(f"CREATE DATABASE {quote_identifier(name)}")
    finally:
        await connection.close()
    return url.set(database=name)


async def drop_scratch(database_url: str, scratch: URL) -> None:
    connection = await connect(database_url)
    try:
        await connection.execute(
            f"DROP DATABASE IF EXISTS {quote_identifier(str(scratch.database))} WITH (FORCE)"
        )
    finally:
        await connection.close()
