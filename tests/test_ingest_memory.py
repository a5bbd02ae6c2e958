"""An enormous listing is streamed and bounded: ten times the records (and one of 10 MB) fed
through the engine chunk by chunk allocate no more at their peak, give or take a chunk. Measured
with tracemalloc (allocations, not time). The suite streams 20,000 records against 2,000;
`INGEST_MEMORY_RECORDS=100000` runs the 100,000-record case (docs/sync-engine.md has its numbers).
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import AsyncIterator

from db.enums import SyncJobStatus
from graph.runtime import Runtime
from providers.base import STREAM_CHUNK, ResourceRecord, Scope
from tests.factories import create_user
from tests.sync_support import ScriptedInventory, create_credential, make_service, record, sync_once

EC2 = Scope("us-east-1", "AWS::EC2::Instance")
MEGABYTE = 1024 * 1024
LARGE = int(os.environ.get("INGEST_MEMORY_RECORDS", "20000"))


class GeneratedInventory(ScriptedInventory):
    """Generates a scope's records as it streams them; none is kept after its chunk."""

    def __init__(self, count: int) -> None:
        super().__init__({EC2: []})
        self.count = count

    async def stream_scope(self, scope: Scope) -> AsyncIterator[list[ResourceRecord]]:
        for start in range(0, self.count, STREAM_CHUNK):
            chunk = [
                record(
                    f"i-{n:08d}",
                    scope,
                    tags={"Name": f"web-{n}", "team": "infra\x00"},
                    metadata={"instanceType": "t3.micro", "launch": {"n": n}},
                )
                for n in range(start, min(start + STREAM_CHUNK, self.count))
            ]
            if start == STREAM_CHUNK:  # one record of 10 MB, in the second chunk
                chunk[0] = record(
                    chunk[0].resource_id,
                    scope,
                    metadata={f"k{k}": "x" * 32_768 for k in range(320)},
                )
            yield chunk


async def peak_growth(runtime: Runtime, count: int) -> tuple[int, int]:
    """(bytes allocated at the peak of a sync of `count` records beyond the start, rows added)."""
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    service = make_service(runtime.database, {credential.id: GeneratedInventory(count)})
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        job = await sync_once(service, credential.id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert job.status == SyncJobStatus.PARTIAL  # the 10 MB record was skipped, alone
    assert [e["resourceId"] for e in job.errors] == [f"i-{STREAM_CHUNK:08d}"]
    return peak - start, job.added


async def test_ten_times_the_records_allocate_no_more_at_the_peak(runtime: Runtime) -> None:
    # given a warmed-up engine (first-use caches: compiled statements, imports)
    await peak_growth(runtime, 2 * STREAM_CHUNK)

    # when a listing and one ten times larger are streamed through it
    small, small_added = await peak_growth(runtime, LARGE // 10)
    large, large_added = await peak_growth(runtime, LARGE)

    # then every record but the oversize one was written, and the peak did not grow with the
    # listing: ten times the records, at most a few megabytes more (a chunk is ~1 MB)
    assert (small_added, large_added) == (LARGE // 10 - 1, LARGE - 1)
    measured = f"peaks: {small / MEGABYTE:.1f} MiB, {large / MEGABYTE:.1f} MiB"
    assert large < small + 8 * MEGABYTE, measured
    assert large < 64 * MEGABYTE, measured
