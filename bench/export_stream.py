"""Streaming export of one user's inventory (default 1,000,000 resources) on PostgreSQL.

Measured: the export pipeline of `GET /export/resources` (owner-scoped select in the connection's
order, server-side cursor through SQLAlchemy, one `CloudResource` per row, CSV encoding) with the
bytes discarded, so the number is the server's cost without the network. Floor: raw asyncpg
cursor over the same rows, written with the csv module and no per-row objects. Each run is in a
fresh child process, whose peak RSS growth during the export shows whether memory stays flat:
it is measured for the full size and for a tenth of it.

Knobs: BENCH_EXPORT_ROWS (1,000,000; BENCH_QUICK: 20,000). Needs PostgreSQL (TEST_POSTGRES_DSN).
"""

from __future__ import annotations

import asyncio
import csv
import io
import multiprocessing
import os
import resource
import time
import uuid
from typing import Any

import asyncpg

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "1000000"))
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
FLOOR_SQL = (
    "SELECT id, name, provider, type, native_type, resource_id, region, account, status, "
    "tags::text, metadata::text, cost_per_hour, credential_id, first_seen_at, last_synced_at, "
    "deleted_at FROM resources WHERE user_id = $1 AND deleted_at IS NULL ORDER BY name, id"
)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _ours(url: str, user_id: uuid.UUID, limit: int) -> tuple[int, int]:
    from starlette.datastructures import QueryParams

    from db.engine import Database, create_engine
    from db.scoping import OwnerScope, ScopedDatabase
    from graph.export.params import resource_export_request
    from graph.export.resources import COLUMNS, resource_record, resource_statement
    from integrations.export.formats import encoder
    from integrations.export.stream import encoded, stream_rows

    database = Database(create_engine(url))
    try:
        db = ScopedDatabase(database, OwnerScope(user_id))
        request = resource_export_request(QueryParams([("format", "csv")]))
        statement = resource_statement(db.scope, request).limit(limit)
        chunks = encoded(stream_rows(db, statement), encoder("csv", COLUMNS), resource_record)
        size = lines = 0
        async for chunk in chunks:
            size += len(chunk)
            lines += chunk.count(b"\r\n")
        return lines - 1, size
    finally:
        await database.dispose()


async def _floor(dsn: str, user_id: uuid.UUID, limit: int) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        rows = size = 0
        async with connection.transaction():
            cursor = connection.cursor(f"{FLOOR_SQL} LIMIT {limit}", user_id, prefetch=1000)
            async for record in cursor:
                writer.writerow(record)
                rows += 1
                if rows % 1000 == 0:
                    size += len(buffer.getvalue().encode())
                    buffer.seek(0)
                    buffer.truncate()
        return rows, size + len(buffer.getvalue().encode())
    finally:
        await connection.close()


def _child(kind: str, target: str, user_id: uuid.UUID, limit: int, queue: Any) -> None:
    # Imports first: neither their time nor their memory belongs to the export.
    import integrations.export.stream  # noqa: F401

    before = _peak_mib()
    started = time.perf_counter()
    run = _ours if kind == "ours" else _floor
    rows, size = asyncio.run(run(target, user_id, limit))
    queue.put((rows, size, time.perf_counter() - started, _peak_mib() - before))


def _measure(
    kind: str, target: str, user_id: uuid.UUID, limit: int
) -> tuple[int, int, float, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, target, user_id, limit, queue))
    process.start()
    result: tuple[int, int, float, float] = queue.get(timeout=3600)
    process.join()
    return result


async def _fill(dsn: str, count: int) -> uuid.UUID:
    connection = await asyncpg.connect(dsn)
    user_id, credential_id = uuid.uuid4(), uuid.uuid4()
    try:
        await connection.execute(
            "INSERT INTO users (id, email, full_name, password_hash, role, is_active, updated_at, "
            "created_at) VALUES ($1, 'export-bench@example.com', 'b', '!', 'USER', true, now(), "
            "now())",
            user_id,
        )
        await connection.execute(
            "INSERT INTO cloud_credentials (id, user_id, provider, name, default_region, "
            "fingerprint, key_id, ciphertext, created_at, updated_at, secret_rotated_at, "
            "health_status) VALUES ($1, $2, 'AWS', 'bench', 'us-east-1', 'AKIA…', 'k1', "
            "'\\x00', now(), now(), now(), 'UNKNOWN')",
            credential_id,
            user_id,
        )
        await connection.execute(
            "INSERT INTO resources (id, user_id, credential_id, provider, account, region, "
            "type, native_type, resource_id, name, status, tags, metadata, cost_per_hour, "
            "first_seen_at, last_synced_at) SELECT gen_random_uuid(), $1, $2, 'AWS', "
            "'123456789012', 'region-' || (g % 16), CASE WHEN g % 3 = 0 THEN 'STORAGE' ELSE 'VM' "
            "END, 'AWS::EC2::Instance', 'i-' || lpad(g::text, 12, '0'), 'res-' || "
            "lpad(g::text, 8, '0'), 'RUNNING', jsonb_build_object('env', 'prod', 'n', g::text), "
            "jsonb_build_object('_scope', 'region/kind', 'index', g), 0.0416, now(), now() "
            "FROM generate_series(1, $3) g",
            user_id,
            credential_id,
            count,
        )
        await connection.execute("ANALYZE resources")
    finally:
        await connection.close()
    return user_id


async def _database() -> tuple[str, str, str]:
    from db.migrate import upgrade_async

    name = f"stratograph_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    host = POSTGRES_DSN.split("@", 1)[1].split("/", 1)[0]
    url = f"postgresql+asyncpg://postgres@{host}/{name}"
    await upgrade_async(url)
    return name, url, f"postgresql://postgres@{host}/{name}"


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main() -> list[dict[str, object]]:
    name, url, dsn = asyncio.run(_database())
    try:
        user_id = asyncio.run(_fill(dsn, ROWS))
        results: list[dict[str, object]] = []
        floor_rows, _, floor_s, floor_mib = _measure("floor", dsn, user_id, ROWS)
        for limit in (ROWS // 10, ROWS):
            rows, size, seconds, grown = _measure("ours", url, user_id, limit)
            assert rows == limit, (rows, limit)
            per_second = rows / seconds
            results.append(
                {
                    "case": f"CSV export, {rows:,} resources, PostgreSQL",
                    "rows/s": f"{per_second:,.0f}",
                    "MiB/s": f"{size / seconds / 2**20:.1f}",
                    "peak RSS growth MiB": f"{grown:.0f}",
                    "baseline": f"{floor_rows / floor_s:,.0f} rows/s raw asyncpg cursor + csv "
                    f"({floor_mib:.0f} MiB growth, {floor_rows:,} rows)",
                    "ratio": f"{per_second / (floor_rows / floor_s):.2f}",
                }
            )
        return results
    finally:
        asyncio.run(_drop(name))


if __name__ == "__main__":
    from bench.__main__ import table

    print(table([{"benchmark": "export_stream", **row} for row in main()]))
