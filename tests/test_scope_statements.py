"""What a sync scope's commit costs in SQL statements (both databases).

An empty listing of a scope with nothing stored changes nothing: it costs no statement and no
transaction of its own (its completion rides in the job's next statement that records scopes),
so a job of many such scopes costs what a job of one does. Scopes that do change something keep
every guarantee: stale marking after a complete listing, relations replaced, counts committed.
"""

from __future__ import annotations

from graph.runtime import Runtime
from providers.base import Scope
from tests.factories import create_user
from tests.statement_counter import counting_statements
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    make_service,
    record,
    resources,
    scopes,
    sync_once,
)

EC2 = Scope("us-east-1", "AWS::EC2::Instance")


def _empty_scopes(count: int) -> dict[Scope, list[object]]:
    return {Scope(f"region-{n:02d}", "AWS::EC2::Instance"): [] for n in range(count)}


async def _job_statements(runtime: Runtime, inventory: ScriptedInventory) -> list[str]:
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    service = make_service(runtime.database, {credential.id: inventory})
    with counting_statements(runtime) as counter:
        done = await sync_once(service, credential.id)
    assert done.progress == 1.0 and not done.errors
    recorded = await scopes(runtime.database, credential.id)
    assert set(recorded) == {scope.key for scope in inventory.listings}
    assert all(row.last_completed_at is not None for row in recorded.values())
    return counter.statements


async def test_a_job_of_empty_scopes_costs_the_same_for_1_10_or_50_scopes(
    runtime: Runtime, backend: str
) -> None:
    # given credentials with nothing stored whose clouds list 1, 10 and 50 empty scopes
    counts = {}
    for size in (1, 10, 50):
        inventory = ScriptedInventory(_empty_scopes(size))  # type: ignore[arg-type]
        # when each is synced
        statements = await _job_statements(runtime, inventory)
        counts[size] = len(statements)
    # then every scope is recorded as completed, and the job's statements do not grow with them:
    # no stale marking, no relation delete, no progress update per empty scope
    assert counts[1] == counts[10] == counts[50], counts
    # and the whole job (enqueue, claim, the runner's looks for account parts to claim,
    # plan-time reads, the scopes' records, retiring and the job's end) is pinned; PostgreSQL
    # adds one set_config per transaction and the NOTIFY that wakes workers
    assert counts[1] == (19 if backend == "sqlite" else 31), counts


async def test_an_empty_scope_that_held_rows_still_marks_them_deleted(
    runtime: Runtime, backend: str
) -> None:
    # given a scope whose two resources are stored
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EC2: [record("i-1", EC2), record("i-2", EC2)]})
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    # when its listing comes back empty
    inventory.listings[EC2] = []
    with counting_statements(runtime) as counter:
        done = await sync_once(service, credential.id)
    # then both are marked deleted and counted, in the scope's own transaction
    assert done.removed == 2
    stored = await resources(runtime.database, credential.id)
    assert all(row.deleted_at is not None for row in stored.values())
    stale = [s for s in counter.statements if s.lstrip().upper().startswith("UPDATE RESOURCES")]
    assert len(stale) == 1, counter.statements


async def test_an_unchanged_empty_scope_commits_only_its_record(
    runtime: Runtime, backend: str
) -> None:
    # given a credential with one scope holding a resource and 20 scopes that are empty
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    listings: dict[Scope, list[object]] = {EC2: [record("i-1", EC2)], **_empty_scopes(20)}
    inventory = ScriptedInventory(listings)  # type: ignore[arg-type]
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    # when it is synced again, unchanged
    with counting_statements(runtime) as counter:
        done = await sync_once(service, credential.id)
    # then nothing was removed, and the empty scopes wrote nothing but their records (one
    # statement for all of them): no UPDATE or DELETE names an empty scope's key
    assert (done.added, done.updated, done.removed) == (0, 1, 0)
    writes = [
        s
        for s in counter.statements
        if s.lstrip().upper().startswith(("UPDATE RESOURCES", "DELETE FROM RESOURCE_RELATIONS"))
    ]
    assert len(writes) == 1, writes  # the stored scope's stale marking only
    records = [s for s in counter.statements if "INSERT INTO sync_scopes" in s]
    assert len(records) <= 2, records
