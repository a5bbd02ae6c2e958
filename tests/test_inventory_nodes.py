"""`node(id:)` for resources, sync jobs and audit events; relations of credentials and jobs."""

from __future__ import annotations

from db.enums import Role, SyncJobStatus
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.inventory_factories import (
    BASE_TIME,
    create_audit_event,
    create_credential,
    create_resources,
    create_sync_job,
)

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    id
    ... on CloudResource { name type credential { name resourceCount } }
    ... on SyncJob { status credential { name } }
    ... on AuditEvent { action outcome }
  }
}
"""


async def test_nodes_resolve_for_their_owner_and_are_null_for_anyone_else(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given alice's resource, job and audit event, and bob
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    credential = await create_credential(runtime, alice, "main")
    (resource_id,) = await create_resources(runtime, credential, 1)
    job = await create_sync_job(runtime, credential)
    event = await create_audit_event(runtime, alice, "credential.add")
    ids = {
        "resource": to_global_id("CloudResource", resource_id),
        "job": to_global_id("SyncJob", job.id),
        "event": to_global_id("AuditEvent", event.id),
    }
    alice_token, bob_token = access_token(runtime, alice), access_token(runtime, bob)
    # when alice asks
    resource = (await gql(NODE, {"id": ids["resource"]}, token=alice_token)).ok()["node"]
    found_job = (await gql(NODE, {"id": ids["job"]}, token=alice_token)).ok()["node"]
    found_event = (await gql(NODE, {"id": ids["event"]}, token=alice_token)).ok()["node"]
    # then she gets each with its relations
    assert resource == {
        "id": ids["resource"],
        "name": "res-00000",
        "type": "VM",
        "credential": {"name": "main", "resourceCount": 1},
    }
    assert found_job == {"id": ids["job"], "status": "SUCCEEDED", "credential": {"name": "main"}}
    assert found_event == {"id": ids["event"], "action": "credential.add", "outcome": "SUCCESS"}
    # and bob gets null for every one of them, as for an ID that does not exist
    for global_id in ids.values():
        assert (await gql(NODE, {"id": global_id}, token=bob_token)).ok() == {"node": None}


async def test_admins_can_open_any_audit_event_but_not_other_inventories(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    alice = await create_user(runtime)
    admin = await create_user(runtime, role=Role.ADMIN)
    credential = await create_credential(runtime, alice)
    (resource_id,) = await create_resources(runtime, credential, 1)
    event = await create_audit_event(runtime, alice)
    token = access_token(runtime, admin)
    event_node = await gql(NODE, {"id": to_global_id("AuditEvent", event.id)}, token=token)
    resource_node = await gql(NODE, {"id": to_global_id("CloudResource", resource_id)}, token=token)
    assert event_node.ok()["node"]["action"] == "login"
    assert resource_node.ok() == {"node": None}


LAST_SYNC = """
query Node($id: ID!) {
  node(id: $id) { ... on CloudResource { credential { lastSync { id status } } } }
}
"""


async def test_last_sync_is_the_most_recently_queued_job(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    owner = await create_user(runtime)
    credential = await create_credential(runtime, owner)
    (resource_id,) = await create_resources(runtime, credential, 1)
    token = access_token(runtime, owner)
    global_id = to_global_id("CloudResource", resource_id)
    before = (await gql(LAST_SYNC, {"id": global_id}, token=token)).ok()
    assert before["node"]["credential"]["lastSync"] is None
    await create_sync_job(runtime, credential, queued_at=BASE_TIME)
    latest = await create_sync_job(
        runtime, credential, status=SyncJobStatus.RUNNING, queued_at=BASE_TIME.replace(hour=5)
    )
    await create_sync_job(runtime, credential, queued_at=BASE_TIME.replace(hour=2))
    after = (await gql(LAST_SYNC, {"id": global_id}, token=token)).ok()
    assert after["node"]["credential"]["lastSync"] == {
        "id": to_global_id("SyncJob", latest.id),
        "status": "RUNNING",
    }
