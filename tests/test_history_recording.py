"""Change records written by the sync engine: what each sync changed, per resource, in the same
transaction as the change (both databases)."""

from __future__ import annotations

from typing import Any

from db.enums import RelationType, ResourceStatus, SyncJobStatus
from db.models import CloudCredentialRow, SyncJobRow
from graph.runtime import Runtime
from providers.base import Relation, Scope
from sync import SyncService
from tests.factories import create_user
from tests.history_support import ChunkedInventory, change_rows, edit, fields, relate, summary
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    denied,
    make_service,
    record,
    sync_once,
)

EC2 = Scope("us-east-1", "AWS::EC2::Instance")
S3 = Scope("us-east-1", "AWS::S3::Bucket")


async def _synced(
    runtime: Runtime, inventory: ScriptedInventory, **options: Any
) -> tuple[SyncService, CloudCredentialRow, SyncJobRow]:
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    service = make_service(runtime.database, {credential.id: inventory}, **options)
    done = await sync_once(service, credential.id)
    return service, credential, done


async def test_a_first_sync_records_every_resource_as_created(runtime: Runtime) -> None:
    # given a cloud with two instances and a bucket
    inventory = ScriptedInventory(
        {EC2: [record("i-1", EC2), record("i-2", EC2)], S3: [record("b-1", S3)]}
    )
    # when it is synced for the first time
    _, credential, done = await _synced(runtime, inventory)
    # then each resource has one CREATED record of that job, with no field changes
    rows = await change_rows(runtime.database, credential.id)
    assert sorted(summary(rows)) == [("b-1", "CREATED"), ("i-1", "CREATED"), ("i-2", "CREATED")]
    assert {row.job_id for row in rows} == {done.id}
    assert all(row.changes == [] and row.resource_row_id is not None for row in rows)
    assert all(row.user_id == credential.user_id for row in rows)


async def test_an_unchanged_resync_records_nothing(runtime: Runtime) -> None:
    # given a synced cloud
    inventory = ScriptedInventory({EC2: [record("i-1", EC2, tags={"env": "dev"})]})
    service, credential, _ = await _synced(runtime, inventory)
    # when it is synced again without any change
    await sync_once(service, credential.id)
    # then only the first sync's record exists
    assert summary(await change_rows(runtime.database, credential.id)) == [("i-1", "CREATED")]


async def test_changed_fields_are_recorded_with_before_and_after_and_nothing_else(
    runtime: Runtime,
) -> None:
    # given a synced instance with tags, a configuration and provider metadata
    inventory = ScriptedInventory(
        {
            EC2: [
                record(
                    "i-1",
                    EC2,
                    name="web",
                    tags={"env": "dev", "team": "a"},
                    configuration={"publicAccessBlock": {"blockPublicAcls": True}, "ports": [22]},
                    metadata={"privateIp": "10.0.0.1"},
                ),
                record("i-2", EC2),
            ]
        }
    )
    service, credential, _ = await _synced(runtime, inventory)
    # when its name, status, a tag value, a removed and an added tag, a nested setting and a
    # list change, and so does its metadata
    edit(
        inventory,
        EC2,
        "i-1",
        name="web-2",
        status=ResourceStatus.STOPPED,
        tags={"env": "prod", "owner": "ops"},
        configuration={"publicAccessBlock": {"blockPublicAcls": False}, "ports": [22, 443]},
        metadata={"privateIp": "10.0.0.2"},
    )
    second = await sync_once(service, credential.id)
    # then one UPDATED record of the second job names exactly the changed fields
    rows = await change_rows(runtime.database, credential.id)
    updated = [row for row in rows if row.kind.value == "UPDATED"]
    assert [(row.resource_id, row.job_id) for row in updated] == [("i-1", second.id)]
    assert fields(updated[0]) == {
        "name": ("web", "web-2"),
        "status": ("RUNNING", "STOPPED"),
        "tags.env": ("dev", "prod"),
        "tags.owner": (None, "ops"),
        "tags.team": ("a", None),
        "configuration.publicAccessBlock.blockPublicAcls": (True, False),
        "configuration.ports": ([22], [22, 443]),
    }
    # and metadata, which is not a setting, is never compared
    assert not any("metadata" in change["field"] for row in rows for change in row.changes)


async def test_deleted_then_restored_resources_are_recorded(runtime: Runtime) -> None:
    # given a synced bucket
    inventory = ScriptedInventory({S3: [record("b-1", S3), record("b-2", S3, tags={"a": "1"})]})
    service, credential, _ = await _synced(runtime, inventory)
    listed = list(inventory.listings[S3])
    # when it disappears from a complete listing
    inventory.drop(S3, "b-2")
    gone = await sync_once(service, credential.id)
    # and comes back later with another tag
    inventory.listings[S3] = [listed[0], record("b-2", S3, tags={"a": "2"})]
    back = await sync_once(service, credential.id)
    # then it was DELETED by the second job and RESTORED by the third, with what differs
    rows = [row for row in await change_rows(runtime.database, credential.id)]
    mine = [row for row in rows if row.resource_id == "b-2"]
    assert [(row.kind.value, row.job_id) for row in mine] == [
        ("CREATED", mine[0].job_id),
        ("DELETED", gone.id),
        ("RESTORED", back.id),
    ]
    assert fields(mine[2]) == {"tags.a": ("1", "2")}
    assert len({row.resource_row_id for row in mine}) == 1


async def test_a_resource_moved_to_another_group_records_a_relations_change(
    runtime: Runtime,
) -> None:
    # given a synced instance protected by sg-a, and one created later
    instance = record("i-1", EC2)
    inventory = ScriptedInventory(
        {EC2: [relate(instance, Relation(RelationType.PROTECTED_BY, "sg-a"))]}
    )
    service, credential, _ = await _synced(runtime, inventory)
    # when it moves to sg-b while a new instance appears with its own group
    inventory.listings[EC2] = [
        relate(instance, Relation(RelationType.PROTECTED_BY, "sg-b")),
        relate(record("i-2", EC2), Relation(RelationType.PROTECTED_BY, "sg-a")),
    ]
    moved = await sync_once(service, credential.id)
    # then the moved one has an UPDATED record of `relations.PROTECTED_BY`, the new one only
    # its CREATED record
    rows = await change_rows(runtime.database, credential.id)
    assert sorted(summary(rows)) == [("i-1", "CREATED"), ("i-1", "UPDATED"), ("i-2", "CREATED")]
    (update,) = [row for row in rows if row.kind.value == "UPDATED"]
    assert update.job_id == moved.id
    assert fields(update) == {"relations.PROTECTED_BY": (["sg-a"], ["sg-b"])}


async def test_a_failed_scope_records_nothing(runtime: Runtime) -> None:
    # given a synced instance whose next listing changes it but fails
    inventory = ScriptedInventory({EC2: [record("i-1", EC2)]})
    service, credential, _ = await _synced(runtime, inventory, max_retries=0)
    edit(inventory, EC2, "i-1", name="renamed")
    inventory.drop(EC2, "i-1")
    inventory.failures[EC2].append(denied())
    # when it is synced
    done = await sync_once(service, credential.id)
    # then the job failed and the history holds only the first sync
    assert done.status == SyncJobStatus.FAILED
    assert summary(await change_rows(runtime.database, credential.id)) == [("i-1", "CREATED")]


async def test_a_stream_records_each_chunk_once_and_keeps_what_it_committed(
    runtime: Runtime,
) -> None:
    # given a streamed scope of five instances, two per chunk, where i-1 is listed twice
    listing = [record(f"i-{n}", EC2) for n in range(5)]
    inventory = ChunkedInventory({EC2: [*listing[:3], listing[1], *listing[3:]]})
    # when it is synced
    service, credential, _ = await _synced(runtime, inventory, max_retries=0)
    # then every instance was CREATED once, i-1 too
    rows = await change_rows(runtime.database, credential.id)
    assert sorted(summary(rows)) == [(f"i-{n}", "CREATED") for n in range(5)]
    # and when a later stream renames two and fails after its first chunk
    edit(inventory, EC2, "i-0", name="zero")
    edit(inventory, EC2, "i-2", name="two")
    inventory.listings[EC2] = list(inventory.listings[EC2][:3]) + listing[3:]
    inventory.fail_after[EC2] = 1
    done = await sync_once(service, credential.id)
    # then the chunk it committed keeps its record, the rest records nothing
    assert done.status == SyncJobStatus.FAILED
    rows = await change_rows(runtime.database, credential.id)
    updated = [row for row in rows if row.kind.value == "UPDATED"]
    assert [(row.resource_id, fields(row)) for row in updated] == [
        ("i-0", {"name": ("i-0", "zero")})
    ]
