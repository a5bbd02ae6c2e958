"""Streamed scopes: chunks are written as they arrive (memory bounded by the chunk, not the
scope), stale marking waits for the end of the stream, and a stream failing part-way keeps what
it wrote but removes nothing (both databases)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

from db.enums import SyncJobStatus
from graph.runtime import Runtime
from providers.base import ResourceRecord, Scope, StreamingInventory
from tests.factories import create_user
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    job,
    make_service,
    record,
    resources,
    sync_once,
    throttled,
)

EC2 = Scope("us-east-1", "AWS::EC2::Instance")
CHUNK = 2


class StreamedInventory(ScriptedInventory):
    """Hands each scope over in chunks of two; can pause or fail after a given chunk."""

    def __init__(self, listings: dict[Scope, list[ResourceRecord]]) -> None:
        super().__init__(listings)
        self.chunks_sent: defaultdict[Scope, int] = defaultdict(int)
        self.pause_after: dict[Scope, tuple[int, asyncio.Event, asyncio.Event]] = {}
        self.fail_after: dict[Scope, int] = {}
        self.open_failures: list[Exception] = []

    async def stream_scope(self, scope: Scope) -> AsyncIterator[list[ResourceRecord]]:
        if self.open_failures:
            raise self.open_failures.pop(0)
        listing = list(self.listings[scope])
        for start in range(0, len(listing), CHUNK):
            sent = self.chunks_sent[scope]
            if self.fail_after.get(scope) == sent:
                raise throttled()
            pause = self.pause_after.get(scope)
            if pause is not None and pause[0] == sent:
                reached, resume = pause[1], pause[2]
                reached.set()
                await resume.wait()
            self.chunks_sent[scope] += 1
            yield listing[start : start + CHUNK]


def five_instances() -> StreamedInventory:
    return StreamedInventory({EC2: [record(f"i-{n}", EC2) for n in range(5)]})


def test_the_streamed_inventory_is_seen_as_streaming() -> None:
    assert isinstance(five_instances(), StreamingInventory)
    assert not isinstance(ScriptedInventory({}), StreamingInventory)


async def test_a_streamed_scope_is_stored_whole_with_honest_counts(runtime: Runtime) -> None:
    # given a scope of five instances handed over two at a time
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = five_instances()
    service = make_service(runtime.database, {credential.id: inventory})
    # when it is synced
    done = await sync_once(service, credential.id)
    # then three chunks were written and the job counts every row once
    assert inventory.chunks_sent[EC2] == 3
    assert done.status == SyncJobStatus.SUCCEEDED
    assert (done.added, done.updated, done.removed, done.progress) == (5, 0, 0, 1.0)
    assert sorted(await resources(runtime.database, credential.id)) == [f"i-{n}" for n in range(5)]


async def test_chunks_are_committed_before_the_stream_ends(runtime: Runtime) -> None:
    # given a stream that pauses after its first chunk
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = five_instances()
    reached, resume = asyncio.Event(), asyncio.Event()
    inventory.pause_after[EC2] = (1, reached, resume)
    service = make_service(runtime.database, {credential.id: inventory})
    (started,) = await service.start([credential.id])
    draining = asyncio.create_task(service.runner.drain())
    try:
        # when the stream is paused mid-way
        await asyncio.wait_for(reached.wait(), 30)
        # then the first chunk is already stored and counted, and the scope is not yet done
        assert sorted(await resources(runtime.database, credential.id)) == ["i-0", "i-1"]
        running = await job(runtime.database, started.id)
        assert (running.added, running.progress) == (2, 0.0)
    finally:
        resume.set()
        await asyncio.wait_for(draining, 30)
    assert (await job(runtime.database, started.id)).added == 5


async def test_a_stream_failing_part_way_keeps_its_rows_and_removes_nothing(
    runtime: Runtime,
) -> None:
    # given a synced scope whose next listing lost i-4 and fails after its first chunk
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = five_instances()
    service = make_service(runtime.database, {credential.id: inventory}, max_retries=0)
    await sync_once(service, credential.id)
    inventory.drop(EC2, "i-4")
    inventory.chunks_sent.clear()
    inventory.fail_after[EC2] = 1
    # when it is synced again
    done = await sync_once(service, credential.id)
    # then the job is honest: failed, with the chunk it wrote counted
    assert done.status == SyncJobStatus.FAILED
    assert [error["code"] for error in done.errors] == ["THROTTLED"]
    assert (done.added, done.updated, done.removed) == (0, 2, 0)
    # and nothing was marked deleted, not even the resource the cloud no longer lists
    stored = await resources(runtime.database, credential.id)
    assert all(row.deleted_at is None for row in stored.values())


async def test_stale_marking_follows_a_completed_stream(runtime: Runtime) -> None:
    # given a synced scope whose next complete listing lost i-4
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = five_instances()
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    inventory.drop(EC2, "i-4")
    # when it is synced again
    done = await sync_once(service, credential.id)
    # then exactly that resource is marked deleted
    assert (done.added, done.updated, done.removed) == (0, 4, 1)
    stored = await resources(runtime.database, credential.id)
    assert [rid for rid, row in stored.items() if row.deleted_at is not None] == ["i-4"]


async def test_throttling_when_opening_a_stream_is_retried(runtime: Runtime) -> None:
    # given a stream throttled once before its first chunk
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = five_instances()
    inventory.open_failures.append(throttled())
    service = make_service(runtime.database, {credential.id: inventory}, max_retries=2)
    # when it is synced
    done = await sync_once(service, credential.id)
    # then the retry listed everything, counted once
    assert done.status == SyncJobStatus.SUCCEEDED
    assert (done.added, done.updated) == (5, 0)
