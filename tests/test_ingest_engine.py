"""The engine's side of ingestion: a record the database still refuses is skipped alone, a
record too large is skipped alone, skipped records are never marked deleted, and duplicate ids
across the chunks of one stream are merged and counted once (both databases)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from db.enums import SyncJobStatus
from graph.runtime import Runtime
from providers import sanitize
from providers.base import ResourceRecord
from sync import ingest
from tests.factories import create_user
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    make_service,
    record,
    resources,
    sync_once,
)
from tests.test_sync_streaming import EC2, StreamedInventory

POISON = "poison"


def poison_record(backend: str) -> ResourceRecord:
    """A record the database refuses if normalization lets it through: PostgreSQL text cannot
    hold NUL; SQLite takes NUL, but no JSON encoder takes an arbitrary object."""
    if backend == "postgres":
        return record("i-poison", EC2, name=f"{POISON}\x00")
    return record("i-poison", EC2, name=POISON, metadata={"x": object()})


def letting_poison_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """Normalization as if it had a gap for this one record (the isolation below it is tested)."""
    normalize = sanitize.normalize_record

    def leaky(item: ResourceRecord) -> sanitize.Normalized | sanitize.Rejected:
        if item.resource_id == "i-poison":
            return sanitize.Normalized(item, frozenset())
        return normalize(item)

    monkeypatch.setattr(ingest, "normalize_record", leaky)


@pytest.mark.parametrize("listing", ["whole", "streamed"])
async def test_a_record_the_database_refuses_is_skipped_alone(
    runtime: Runtime, backend: str, listing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a scope of nine instances, one of which the database refuses, in batches of four
    letting_poison_through(monkeypatch)
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    records = [record(f"i-{n}", EC2) for n in range(8)]
    records.insert(5, poison_record(backend))
    kind = ScriptedInventory if listing == "whole" else StreamedInventory
    service = make_service(runtime.database, {credential.id: kind({EC2: records})}, batch_size=4)

    # when it is synced
    job = await sync_once(service, credential.id)

    # then the eight others are stored, and the job names the one skipped, without its values
    stored = await resources(runtime.database, credential.id)
    assert sorted(stored) == [f"i-{n}" for n in range(8)]
    assert job.added == 8 and job.status == SyncJobStatus.PARTIAL
    (error,) = job.errors
    assert (error["scope"], error["code"], error["resourceId"]) == (
        EC2.key,
        "INVALID_RECORD",
        "i-poison",
    )
    assert POISON not in error["message"]
    assert {w["code"]: w["count"] for w in job.warnings} == {"INVALID_RECORD": 1}


async def test_a_ten_megabyte_record_is_skipped_and_its_stored_row_kept(runtime: Runtime) -> None:
    # given a synced scope of three instances
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EC2: [record(f"i-{n}", EC2) for n in range(3)]})
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    # and, since, i-1 describes itself in 10 MB of metadata
    bulky = {f"k{n}": "x" * 32_000 for n in range(320)}
    inventory.listings[EC2][1] = replace(inventory.listings[EC2][1], metadata=bulky)

    # when it is synced again
    job = await sync_once(service, credential.id)

    # then i-1 is skipped (reported, counted) but kept as seen; the others are updated
    (error,) = job.errors
    assert (error["code"], error["resourceId"]) == ("INVALID_RECORD", "i-1")
    assert "KiB" in error["message"]
    stored = await resources(runtime.database, credential.id)
    assert stored["i-1"].deleted_at is None and stored["i-1"].metadata_.keys() <= {"_scope"}
    assert (job.updated, job.removed) == (2, 0)


async def test_duplicates_across_the_chunks_of_a_stream_are_counted_once(
    runtime: Runtime,
) -> None:
    # given a stream (chunks of two) that lists i-0 in its first and its second chunk, and i-3
    # twice in its last chunk
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    ids = ["i-0", "i-1", "i-0", "i-2", "i-3", "i-3"]
    listing = [record(i, EC2, name=f"{i}-{n}") for n, i in enumerate(ids)]
    service = make_service(runtime.database, {credential.id: StreamedInventory({EC2: listing})})

    # when it is synced
    job = await sync_once(service, credential.id)

    # then each resource is stored once, as listed last, counted once, and the repeats reported
    assert job.status == SyncJobStatus.SUCCEEDED, job.errors
    assert (job.added, job.updated) == (4, 0)
    stored = await resources(runtime.database, credential.id)
    assert {i: row.name for i, row in stored.items()} == {
        "i-0": "i-0-2",
        "i-1": "i-1-1",
        "i-2": "i-2-3",
        "i-3": "i-3-5",
    }
    (duplicates,) = job.warnings
    assert (duplicates["code"], duplicates["count"]) == ("DUPLICATE_ID", 2)
    assert sorted(duplicates["resourceIds"]) == ["i-0", "i-3"]


async def test_warnings_are_reset_when_a_job_is_claimed_again(runtime: Runtime) -> None:
    # given a job that reported a warning
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EC2: [record("i-0", EC2, name="a\x00")]})
    service = make_service(runtime.database, {credential.id: inventory})
    first = await sync_once(service, credential.id)
    assert [w["code"] for w in first.warnings] == ["CONTROL_CHARACTER"]
    # when the next sync lists clean data
    inventory.rename(EC2, "i-0", "clean")
    second = await sync_once(service, credential.id)
    # then that job reports nothing
    assert second.warnings == [] and second.status == SyncJobStatus.SUCCEEDED
