"""A real AWS sync from moto's server: wall time, our share of it, and peak memory.

moto runs in its own process (so its CPU is not charged to us); boto3 lists through it and the
real sync engine writes a SQLite database. The share spent in our own code is measured by
replaying the very same listings, recorded during the sync, through the engine with no cloud:
replay time (the median of `REPLAYS` runs) / sync time. Peak traced Python memory of the sync
is reported for each count, to show it follows the largest scope, not the job.

Each timed run starts from a collected heap (`gc.collect()`), and the replay runs once the
recorded inventory (its SDK clients and their service models) is released, as a worker's next
job would: otherwise the replay paid for the full garbage-collector passes over the previous
syncs' garbage (about 200,000 cyclic objects of the SDKs) and the bench's own SDK clients,
which made it about twice as slow as the same replay in a fresh process (1.4–1.6 s against
0.7–0.8 s, docs/sync-engine.md). Before anything runs, the bench settles its startup heap as
`stratograph worker` does (`core.heap.settle`), so full collections scan what the syncs
allocate, not the modules imported.

moto answers DescribeInstances/DescribeVolumes in one page whatever MaxResults says, so the peak
here follows the largest region's response; real EC2 pages at most 1,000 items.

Knobs: STRATOGRAPH_BENCH_SYNC_COUNTS (default "1000,10000"), STRATOGRAPH_BENCH_AWS_PAGE_SIZE
(default 1000; 0 = the service's default).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import pickle
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from core import heap
from db.engine import Database, create_engine
from db.enums import Provider, Role, SyncJobStatus
from db.migrate import upgrade_async
from db.models import CloudCredentialRow, SyncJobRow, UserRow
from providers.aws import AwsInventory
from providers.base import ResourceRecord, Scope
from providers.registry import preload
from providers.secrets import AwsSecret
from providers.vault_access import seal_into
from security.vault import Vault
from sync import ProgressHub, SyncOptions, SyncService

REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
SECRET = AwsSecret("AKIABENCHMARK0000001", "bench-secret-access-key", None)
AMI = "ami-12c6146b"
CHUNK = 250
# The replay is timed this many times, each into a database of its own, and its median taken:
# one replay lasts a few seconds, and on a shared machine one run of it varied by ±15 %.
REPLAYS = 3
# Real EC2 pages at most 1,000 items; moto answers everything in one page unless asked.
PAGE_SIZE = int(os.environ.get("STRATOGRAPH_BENCH_AWS_PAGE_SIZE", "1000")) or None


def _counts() -> tuple[int, ...]:
    raw = os.environ.get("STRATOGRAPH_BENCH_SYNC_COUNTS", "1000,10000")
    return tuple(int(part) for part in raw.split(",") if part.strip())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoProcess:
    def __init__(self) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def populate(self, count: int) -> None:
        """`count` EC2 instances spread over the regions (each brings its root volume)."""
        per_region = count // len(REGIONS)
        # A session of its own (not boto3's default one), released with this call.
        session = boto3.session.Session(
            aws_access_key_id=SECRET.access_key_id, aws_secret_access_key=SECRET.secret_access_key
        )
        for region in REGIONS:
            ec2 = session.client("ec2", region_name=region, endpoint_url=self.url)
            left = per_region
            while left > 0:
                batch = min(CHUNK, left)
                ec2.run_instances(
                    ImageId=AMI, MinCount=batch, MaxCount=batch, InstanceType="t3.micro"
                )
                left -= batch


@dataclass
class Recorder:
    """Wraps the real inventory, timing its listings and keeping them for the replay."""

    inner: AwsInventory
    listings: dict[Scope, list[ResourceRecord]] = field(default_factory=dict)
    provider_seconds: float = 0.0
    provider = Provider.AWS

    async def verify(self) -> None:
        await self.inner.verify()

    async def plan(self) -> list[Scope]:
        return await self.inner.plan()

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        started = time.perf_counter()
        records = await self.inner.list_scope(scope)
        self.provider_seconds += time.perf_counter() - started
        self.listings[scope] = records
        return records

    async def close(self) -> None:
        await self.inner.close()


class Replay:
    """The recorded listings, handed out as a provider hands them out.

    Each scope's records are kept pickled, outside the garbage collector's view, and built when
    the scope is listed, so they die once the scope is written: the heap holds what a streamed
    sync holds, not every record of the job. Held alive, the 20,000 records of the
    10,000-instance replay made its full collections cost 0.75–0.81 s against 0.22–0.30 s
    (docs/sync-engine.md). Building the records is the provider's part: `listing_seconds` is
    left out of our time, as the cloud's is.
    """

    provider = Provider.AWS

    def __init__(self, listings: dict[Scope, list[ResourceRecord]]) -> None:
        self.pickled = {scope: pickle.dumps(records) for scope, records in listings.items()}
        self.listing_seconds = 0.0

    async def verify(self) -> None:
        return None

    async def plan(self) -> list[Scope]:
        return list(self.pickled)

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        started = time.perf_counter()
        records: list[ResourceRecord] = pickle.loads(self.pickled[scope])
        self.listing_seconds += time.perf_counter() - started
        return records

    async def close(self) -> None:
        return None


async def ours(database: Database, credential: CloudCredentialRow, replay: Replay) -> float:
    """Seconds of a sync of `replay` spent in our code."""
    return await _sync(database, credential, replay) - replay.listing_seconds


async def _database(url: str, vault: Vault) -> tuple[Database, CloudCredentialRow]:
    await upgrade_async(url)
    database = Database(create_engine(url))
    user = UserRow(id=uuid.uuid4(), email="bench@example.com", full_name="Bench", password_hash="!",
                role=Role.USER)  # fmt: skip
    credential = CloudCredentialRow(id=uuid.uuid4(), user_id=user.id, provider=Provider.AWS,
                                 name="bench", default_region="us-east-1")  # fmt: skip
    seal_into(credential, SECRET, vault)
    async with database.system_session() as session:
        session.add(user)
        await session.flush()
        session.add(credential)
    return database, credential


async def _sync(database: Database, credential: CloudCredentialRow, inventory: object) -> float:
    options = SyncOptions(interval=None)
    service = SyncService(database, lambda _: inventory, options, hub=ProgressHub())  # type: ignore[arg-type, return-value]
    gc.collect()
    started = time.perf_counter()
    (job,) = await service.start([credential.id])
    await service.runner.drain()
    elapsed = time.perf_counter() - started
    async with database.system_session() as session:
        done = await session.get(SyncJobRow, job.id)
    assert done is not None and done.status == SyncJobStatus.SUCCEEDED, done and done.errors
    return elapsed


async def _one(count: int, directory: Path) -> dict[str, object]:
    moto = MotoProcess()
    vault = Vault({"bench": base64.b64decode(base64.b64encode(os.urandom(32)))})
    try:
        moto.populate(count)

        def real() -> AwsInventory:
            return AwsInventory(SECRET, default_region="us-east-1", endpoint_url=moto.url,
                                regions=REGIONS, page_size=PAGE_SIZE)  # fmt: skip

        database, credential = await _database(
            f"sqlite+aiosqlite:///{directory}/s{count}.db", vault
        )
        recorder = Recorder(real())
        wall = await _sync(database, credential, recorder)
        listings, provider_seconds = recorder.listings, recorder.provider_seconds
        del recorder  # the inventory is closed: nothing of it stays alive
        tracemalloc.start()
        await _sync(database, credential, real())  # not recorded: memory is the sync's own
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        await database.dispose()

        resources, scopes = sum(len(records) for records in listings.values()), len(listings)
        replay = Replay(listings)
        del listings
        replays = []
        for attempt in range(REPLAYS):
            replay_db, replay_credential = await _database(
                f"sqlite+aiosqlite:///{directory}/r{count}-{attempt}.db", vault
            )
            replay.listing_seconds = 0.0
            replays.append(await ours(replay_db, replay_credential, replay))
            await replay_db.dispose()
        own = statistics.median(replays)
    finally:
        moto.stop()
    return {
        "case": f"moto → SQLite, {count:,} instances",
        "resources": f"{resources:,}",
        "scopes": scopes,
        "sync s": f"{wall:.2f}",
        "replay s (ours)": f"{own:.2f} ({' '.join(f'{r:.2f}' for r in replays)})",
        "our share": f"{own / wall:.1%}",
        "provider calls s (summed)": f"{provider_seconds:.2f}",
        "peak MiB": f"{peak / 2**20:.1f}",
    }


async def _main() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as directory:
        return [await _one(count, Path(directory)) for count in _counts()]


def main() -> list[dict[str, object]]:
    # As `stratograph worker` does before its first job (core/heap.py).
    preload()
    heap.settle()
    return asyncio.run(_main())
