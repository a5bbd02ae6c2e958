"""`syncJobs`, `auditEvents`, `users` connections and the nested `CloudCredential.resources`."""

from __future__ import annotations

from datetime import timedelta

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

SYNC_JOBS = """
query Jobs($first: Int, $after: String, $status: SyncJobStatus) {
  syncJobs(first: $first, after: $after, status: $status) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id status queuedAt } }
  }
}
"""

AUDIT_EVENTS = """
query Events($first: Int, $after: String) {
  auditEvents(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { action } }
  }
}
"""

USERS = """
query Users($first: Int, $after: String, $last: Int, $before: String) {
  users(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { email } }
  }
}
"""

CREDENTIAL_RESOURCES = """
query Nested($id: ID!, $first: Int, $after: String, $filter: ResourceFilter) {
  node(id: $id) {
    ... on CloudResource {
      credential {
        resources(first: $first, after: $after, filter: $filter) {
          totalCount
          pageInfo { hasNextPage hasPreviousPage endCursor }
          edges { node { name } }
        }
      }
    }
  }
}
"""


async def test_sync_jobs_newest_first_with_status_filter_and_pages(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given five jobs of alice (two failed) and one of bob
    alice = await create_user(runtime)
    credential = await create_credential(runtime, alice)
    jobs = [
        await create_sync_job(
            runtime,
            credential,
            queued_at=BASE_TIME + timedelta(minutes=i),
            status=SyncJobStatus.FAILED if i in (1, 3) else SyncJobStatus.SUCCEEDED,
        )
        for i in range(5)
    ]
    bob = await create_user(runtime)
    await create_sync_job(runtime, await create_credential(runtime, bob))
    token = access_token(runtime, alice)
    # when paging two at a time
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        data = (await gql(SYNC_JOBS, {"first": 2, "after": cursor}, token=token)).ok()["syncJobs"]
        seen += [edge["node"]["id"] for edge in data["edges"]]
        cursor = data["pageInfo"]["endCursor"]
        if not data["pageInfo"]["hasNextPage"]:
            break
    # then all her jobs come newest first, and only hers
    assert seen == [to_global_id("SyncJob", job.id) for job in reversed(jobs)]
    assert data["totalCount"] == 5
    failed = (await gql(SYNC_JOBS, {"status": "FAILED"}, token=token)).ok()["syncJobs"]
    assert failed["totalCount"] == 2
    assert [e["node"]["id"] for e in failed["edges"]] == [
        to_global_id("SyncJob", jobs[3].id),
        to_global_id("SyncJob", jobs[1].id),
    ]


async def test_audit_events_are_own_for_users_and_everyones_for_admins(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    admin = await create_user(runtime, role=Role.ADMIN)
    for minute, (user, action) in enumerate(
        [(alice, "a1"), (bob, "b1"), (alice, "a2"), (None, "anonymous"), (bob, "b2")]
    ):
        await create_audit_event(
            runtime, user, action, created_at=BASE_TIME + timedelta(minutes=minute)
        )

    async def actions(token: str) -> tuple[list[str], int]:
        data = (await gql(AUDIT_EVENTS, {"first": 100}, token=token)).ok()["auditEvents"]
        return [e["node"]["action"] for e in data["edges"]], data["totalCount"]

    assert await actions(access_token(runtime, alice)) == (["a2", "a1"], 2)
    assert await actions(access_token(runtime, admin)) == (
        ["b2", "anonymous", "a2", "b1", "a1"],
        5,
    )


async def test_users_are_for_admins_only(gql: GraphQLClient, runtime: Runtime) -> None:
    admin = await create_user(runtime, "admin@example.com", role=Role.ADMIN)
    user = await create_user(runtime, "user@example.com")
    others = [await create_user(runtime, f"u{i}@example.com") for i in range(3)]
    assert len(others) == 3
    # a regular user is forbidden, an anonymous caller must log in
    forbidden = await gql(USERS, token=access_token(runtime, user))
    assert forbidden.error_codes == ["FORBIDDEN"]
    assert (await gql(USERS)).error_codes == ["UNAUTHENTICATED"]
    # an admin pages through everyone, oldest first, in both directions
    token = access_token(runtime, admin)
    first = (await gql(USERS, {"first": 3}, token=token)).ok()["users"]
    assert first["totalCount"] == 5
    rest = (
        await gql(USERS, {"first": 3, "after": first["pageInfo"]["endCursor"]}, token=token)
    ).ok()["users"]
    emails = [e["node"]["email"] for e in first["edges"] + rest["edges"]]
    assert len(set(emails)) == 5
    assert rest["pageInfo"]["hasNextPage"] is False
    last = (await gql(USERS, {"last": 2}, token=token)).ok()["users"]
    assert [e["node"]["email"] for e in last["edges"]] == emails[-2:]
    assert last["pageInfo"]["hasPreviousPage"] is True


async def test_credential_resources_page_with_cursor_and_filter(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a credential with 7 resources and a second credential of the same user
    owner = await create_user(runtime)
    credential = await create_credential(runtime, owner)
    ids = await create_resources(runtime, credential, 7)
    other = await create_credential(runtime, owner)
    other_ids = await create_resources(runtime, other, 2)
    token = access_token(runtime, owner)
    node_id = to_global_id("CloudResource", ids[0])
    # when paging its resources three at a time
    first = (await gql(CREDENTIAL_RESOURCES, {"id": node_id, "first": 3}, token=token)).ok()
    page = first["node"]["credential"]["resources"]
    second = (
        await gql(
            CREDENTIAL_RESOURCES,
            {"id": node_id, "first": 3, "after": page["pageInfo"]["endCursor"]},
            token=token,
        )
    ).ok()["node"]["credential"]["resources"]
    # then the second page continues the first
    assert [e["node"]["name"] for e in page["edges"]] == ["res-00000", "res-00001", "res-00002"]
    assert [e["node"]["name"] for e in second["edges"]] == ["res-00003", "res-00004", "res-00005"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["totalCount"] == 7
    # and a filter narrows the nested list and its count
    filtered = (
        await gql(
            CREDENTIAL_RESOURCES,
            {"id": node_id, "filter": {"search": "00006"}},
            token=token,
        )
    ).ok()["node"]["credential"]["resources"]
    assert [e["node"]["name"] for e in filtered["edges"]] == ["res-00006"]
    assert filtered["totalCount"] == 1
    # and a cursor of one credential's list is refused on another credential's list
    refused = await gql(
        CREDENTIAL_RESOURCES,
        {
            "id": to_global_id("CloudResource", other_ids[0]),
            "first": 3,
            "after": page["pageInfo"]["endCursor"],
        },
        token=token,
    )
    assert refused.error_codes == ["BAD_REQUEST"]
