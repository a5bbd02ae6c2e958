"""An organization-wide sync spread over worker processes: the wall time of one sync of an
organization with 1 `stratograph worker` process against 3, in the same run, on PostgreSQL.

The cloud is a loopback stand-in (`bench/_org_cloud.py`) that answers every call after a fixed
delay, as a cloud API's latency would; each worker is the real worker command (NOTIFY wake-ups,
part claims, leases) with its inventory pointed at the stand-in. The job is split into one part
per account, so N workers should sync the organization about N times faster than one.
Knobs: BENCH_ORG_ACCOUNTS (12), BENCH_ORG_SCOPES per account (6), BENCH_ORG_RECORDS per scope
(5), BENCH_ORG_DELAY seconds per call (1.0), BENCH_ORG_WORKERS ("1,3").
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from bench._org_cloud import OrgCloud
from db.engine import Database, create_engine
from db.enums import ACTIVE_JOB_STATUSES, Provider, Role, SyncJobStatus, SyncTrigger
from db.migrate import upgrade_async
from db.models import CloudCredentialRow, SyncJobPartRow, SyncJobRow, UserRow
from sync import jobs
from tests.cluster import cluster_env

ACCOUNTS = int(os.environ.get("BENCH_ORG_ACCOUNTS", "12"))
SCOPES = int(os.environ.get("BENCH_ORG_SCOPES", "6"))
RECORDS = int(os.environ.get("BENCH_ORG_RECORDS", "5"))
DELAY = float(os.environ.get("BENCH_ORG_DELAY", "1.0"))
WORKERS = tuple(int(n) for n in os.environ.get("BENCH_ORG_WORKERS", "1,3").split(","))
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parent.parent
READY_SECONDS = 90.0
SYNC_SECONDS = 600.0


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), 2):
            return True
    except OSError:
        return False


async def _prepare(url: str) -> tuple[Database, uuid.UUID]:
    await upgrade_async(url)
    database = Database(create_engine(url))
    user = UserRow(id=uuid.uuid4(), email="bench@example.com", full_name="B", password_hash="!",
                   role=Role.USER)  # fmt: skip
    credential = CloudCredentialRow(id=uuid.uuid4(), user_id=user.id, provider=Provider.AWS,
                                    name="org", default_region="us-east-1", fingerprint="x",
                                    key_id="k", ciphertext=b"x")  # fmt: skip
    async with database.system_session() as session:
        session.add(user)
        await session.flush()
        session.add(credential)
    return database, credential.id


async def _ready(logs: list[Path], processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while not all("started" in log.read_text(errors="replace") for log in logs):
        for process, log in zip(processes, logs, strict=True):
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "the workers never started"
        await asyncio.sleep(0.1)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bench._org_worker"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


async def _round(workers: int, url: str, cloud: OrgCloud, workdir: Path) -> dict[str, float]:
    """One sync of the organization with `workers` worker processes; wall time from the
    enqueue to the job's end."""
    database, credential_id = await _prepare(url)
    env = cluster_env(
        url, "memory://", workdir, LOG_LEVEL="INFO", ORG_CLOUD_URL=cloud.url,
        SYNC_INTERVAL_MINUTES="0", SYNC_CONCURRENCY="2",
    )  # fmt: skip
    logs = [workdir / f"worker-{workers}-{n}.log" for n in range(workers)]
    processes = [_start_worker(env, log) for log in logs]
    try:
        await _ready(logs, processes)
        idle_cpu = sum(_cpu_seconds(process.pid) for process in processes)
        started = time.perf_counter()
        async with database.system_session() as session:
            queued = await jobs.enqueue(session, credential_id, SyncTrigger.MANUAL)
        assert queued is not None
        job_id = queued[0].id
        deadline = time.monotonic() + SYNC_SECONDS
        while True:
            async with database.system_session() as session:
                done = await session.get(SyncJobRow, job_id)
            assert done is not None
            if done.status not in ACTIVE_JOB_STATUSES:
                break
            assert time.monotonic() < deadline, "the organization's sync never ended"
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        assert done.status == SyncJobStatus.SUCCEEDED, done.errors
        assert done.added == ACCOUNTS * SCOPES * RECORDS, done.added
        async with database.system_session() as session:
            used = await session.scalar(
                select(func.count(func.distinct(SyncJobPartRow.worker_id))).where(
                    SyncJobPartRow.job_id == job_id
                )
            )
        cpu = sum(_cpu_seconds(process.pid) for process in processes)
        return {"seconds": elapsed, "workers used": float(used or 0), "cpu": cpu - idle_cpu}
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        await database.dispose()


async def _main() -> list[dict[str, object]]:
    if not _postgres_reachable():
        return [{"case": "skipped: PostgreSQL is not reachable on 127.0.0.1:5432"}]
    cloud = OrgCloud(ACCOUNTS, SCOPES, RECORDS, DELAY)
    admin = await asyncpg.connect(POSTGRES_DSN)
    base = POSTGRES_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    results: dict[int, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as directory:
            for workers in WORKERS:
                name = f"stratograph_bench_org_{uuid.uuid4().hex[:8]}"
                await admin.execute(f'CREATE DATABASE "{name}"')
                try:
                    results[workers] = await _round(
                        workers, f"{base}/{name}", cloud, Path(directory)
                    )
                finally:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
        cloud.close()
    one = results[WORKERS[0]]["seconds"]
    shape = f"{ACCOUNTS} accounts × {SCOPES} scopes × {RECORDS} rows, {DELAY * 1000:.0f} ms a call"
    return [
        {
            "case": f"{shape}: {workers} workers vs {WORKERS[0]}",
            "ratio": f"{one / found['seconds']:.2f}",
            "target": f"≈{workers / WORKERS[0]:.0f}",
            "measured": f"{found['seconds']:.2f} s",
            "baseline": f"{one:.2f} s",
            "workers used": int(found["workers used"]),
            "worker CPU s": f"{found['cpu']:.1f} vs {results[WORKERS[0]]['cpu']:.1f}",
        }
        for workers, found in results.items()
        if workers != WORKERS[0]
    ]


def main() -> list[dict[str, object]]:
    return asyncio.run(_main())


if __name__ == "__main__":
    from bench.__main__ import table

    print(table(main()))
