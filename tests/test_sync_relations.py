"""Relations and configuration through the sync engine (scripted inventory, both databases):
replaced per scope with the upsert, never changed by a failed scope, isolated per owner."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from db.enums import RelationType, SyncJobStatus
from db.models import ResourceRelationRow
from graph.runtime import Runtime
from providers.base import Relation, ResourceRecord, Scope
from tests.factories import create_user
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    denied,
    make_service,
    record,
    resources,
    sync_once,
)

EC2 = Scope("us-east-1", "AWS::EC2::Instance")
GROUPS = Scope("us-east-1", "AWS::EC2::SecurityGroup")
R = RelationType


def instance(name: str, *groups: str) -> ResourceRecord:
    return record(
        name,
        EC2,
        configuration={"imdsv2Required": True, "securityGroupIds": list(groups)},
        relations=(
            *(Relation(R.PROTECTED_BY, group) for group in groups),
            Relation(R.MEMBER_OF, "subnet-1"),
        ),
    )


async def stored_relations(runtime: Runtime, credential_id: uuid.UUID) -> set[tuple[str, str, str]]:
    async with runtime.database.system_session() as session:
        rows = await session.scalars(
            select(ResourceRelationRow).where(ResourceRelationRow.credential_id == credential_id)
        )
        return {(r.source_resource_id, r.type.value, r.target_resource_id) for r in rows}


async def test_a_scope_replaces_its_relations_and_a_failed_listing_changes_none(
    runtime: Runtime,
) -> None:
    # given a synced instance protected by sg-a, and a security group scope
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory(
        {EC2: [instance("i-1", "sg-a")], GROUPS: [record("sg-a", GROUPS), record("sg-b", GROUPS)]}
    )
    service = make_service(runtime.database, {credential.id: inventory})
    assert (await sync_once(service, credential.id)).status == SyncJobStatus.SUCCEEDED
    before = await stored_relations(runtime, credential.id)
    assert before == {("i-1", "PROTECTED_BY", "sg-a"), ("i-1", "MEMBER_OF", "subnet-1")}
    stored = await resources(runtime.database, credential.id)
    assert stored["i-1"].configuration == {"imdsv2Required": True, "securityGroupIds": ["sg-a"]}

    # when the instance moves to sg-b but its scope's listing fails
    inventory.listings[EC2] = [instance("i-1", "sg-b")]
    inventory.failures[EC2].append(denied())
    partial = await sync_once(service, credential.id)
    # then nothing about the instance changed
    assert partial.status == SyncJobStatus.PARTIAL
    assert await stored_relations(runtime, credential.id) == before

    # when the next listing completes
    assert (await sync_once(service, credential.id)).status == SyncJobStatus.SUCCEEDED
    # then its relations are replaced, and its configuration with them
    assert await stored_relations(runtime, credential.id) == {
        ("i-1", "PROTECTED_BY", "sg-b"),
        ("i-1", "MEMBER_OF", "subnet-1"),
    }
    stored = await resources(runtime.database, credential.id)
    assert stored["i-1"].configuration["securityGroupIds"] == ["sg-b"]

    # when the instance vanishes from a complete listing
    inventory.listings[EC2] = []
    await sync_once(service, credential.id)
    # then its relations go with it
    assert await stored_relations(runtime, credential.id) == set()


async def test_relations_of_one_scope_survive_another_scopes_listing(runtime: Runtime) -> None:
    # given relations written by two scopes
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    group = record("sg-a", GROUPS, relations=(Relation(R.MEMBER_OF, "vpc-1"),))
    inventory = ScriptedInventory({EC2: [instance("i-1", "sg-a")], GROUPS: [group]})
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    # when only the instance scope lists again (the group scope fails)
    inventory.failures[GROUPS].append(denied())
    await sync_once(service, credential.id)
    # then the group's relation is still there
    assert ("sg-a", "MEMBER_OF", "vpc-1") in await stored_relations(runtime, credential.id)


async def test_relations_are_owned_rows_under_row_level_security(
    runtime: Runtime, backend: str
) -> None:
    # given two users, each with a synced instance and its relations
    alice, bob = await create_user(runtime), await create_user(runtime)
    for user in (alice, bob):
        credential = await create_credential(runtime.database, user)
        inventory = ScriptedInventory({EC2: [instance(f"i-{user.id}", "sg-a")]})
        await sync_once(make_service(runtime.database, {credential.id: inventory}), credential.id)
    # when alice's session reads the relations table without any filter
    async with runtime.database.session(alice.id) as session:
        owners = {
            uuid.UUID(str(row[0]))
            for row in (
                await session.execute(text("SELECT DISTINCT user_id FROM resource_relations"))
            ).all()
        }
    # then PostgreSQL's row-level security shows her own rows only (SQLite has no RLS: every
    # read path goes through db.scoping, tested through the API in test_inventory_relations)
    if backend == "postgres":
        assert owners == {alice.id}
    else:
        assert owners == {alice.id, bob.id}
