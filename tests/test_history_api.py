"""The history through GraphQL: `inventoryChanges` and `CloudResource.history` (both databases).

Ownership, filters, cursors (including another user's), the job and resource of a change, and the
cost limits of nested histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from graphql import parse
from sqlalchemy import delete
from starlette.applications import Starlette

from db.enums import ResourceChangeKind, ResourceType, SyncJobStatus
from db.models import CloudResourceRow, SyncJobRow
from graph.hardening.cost import MAX_NODES, operation_cost
from graph.node import to_global_id
from graph.runtime import Runtime
from graph.schema import schema
from tests.factories import access_token, create_user
from tests.fast_path_corpus import Operation
from tests.graphql_client import GraphQLClient
from tests.history_support import change_values, insert_changes
from tests.inventory_factories import (
    BASE_TIME,
    create_credential,
    create_sync_job,
    insert_resources,
    resource_values,
)
from tests.test_fast_path_differential import Spy, _same, graphql_view, post

FEED = """
query Feed($first: Int, $after: String, $filter: ResourceChangeFilter) {
  inventoryChanges(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id at kind resourceId changes { field before after }
                          job { id status } resource { id name } } }
  }
}
"""
HISTORY = """
query History($id: ID!, $first: Int, $after: String) {
  node(id: $id) {
    ... on CloudResource {
      name
      history(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { kind at changes { field before after } } }
      }
    }
  }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { id ... on ResourceChange { kind } } }"


@dataclass
class Story:
    token: str
    resources: list[dict[str, Any]]
    job: SyncJobRow
    vm_credential: str
    bucket_credential: str


@pytest.fixture
async def story(runtime: Runtime) -> Story:
    """An instance created, retagged and stopped; a bucket created then deleted (another
    credential), each change an hour apart; the last two by a known job."""
    owner = await create_user(runtime)
    vms, buckets = await create_credential(runtime, owner), await create_credential(runtime, owner)
    instance = resource_values(vms, 0, name="web")
    bucket = resource_values(buckets, 1, name="logs", type=ResourceType.STORAGE)
    await insert_resources(runtime, [instance, bucket])
    job = await create_sync_job(runtime, vms, status=SyncJobStatus.SUCCEEDED)
    hour = timedelta(hours=1)
    retag = [{"field": "tags.env", "before": "dev", "after": "prod"}]
    stop = [{"field": "status", "before": "RUNNING", "after": "STOPPED"}]
    await insert_changes(
        runtime,
        [
            change_values(instance, BASE_TIME, ResourceChangeKind.CREATED),
            change_values(bucket, BASE_TIME + hour, ResourceChangeKind.CREATED),
            change_values(
                instance, BASE_TIME + 2 * hour, ResourceChangeKind.UPDATED, changes=retag
            ),
            change_values(bucket, BASE_TIME + 3 * hour, ResourceChangeKind.DELETED, job_id=job.id),
            change_values(
                instance, BASE_TIME + 4 * hour, ResourceChangeKind.UPDATED, changes=stop,
                job_id=job.id,
            ),
        ],
    )  # fmt: skip
    return Story(
        access_token(runtime, owner),
        [instance, bucket],
        job,
        to_global_id("CloudCredential", vms.id),
        to_global_id("CloudCredential", buckets.id),
    )


def _kinds(connection: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["resource"]["name"], e["node"]["kind"]) for e in connection["edges"]]


async def test_the_feed_lists_every_change_newest_first_in_pages(
    gql: GraphQLClient, story: Story
) -> None:
    # when the owner reads the feed three at a time
    first = (await gql(FEED, {"first": 3}, token=story.token)).ok()["inventoryChanges"]
    cursor = first["pageInfo"]["endCursor"]
    rest = (await gql(FEED, {"first": 3, "after": cursor}, token=story.token)).ok()
    second = rest["inventoryChanges"]
    # then every change comes once, newest first, with its fields, job and resource
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"] is True
    assert _kinds(first) + _kinds(second) == [
        ("web", "UPDATED"),
        ("logs", "DELETED"),
        ("web", "UPDATED"),
        ("logs", "CREATED"),
        ("web", "CREATED"),
    ]
    assert second["pageInfo"]["hasNextPage"] is False
    newest = first["edges"][0]["node"]
    assert newest["changes"] == [{"field": "status", "before": "RUNNING", "after": "STOPPED"}]
    assert newest["job"] == {"id": to_global_id("SyncJob", story.job.id), "status": "SUCCEEDED"}
    assert newest["resourceId"] == story.resources[0]["resource_id"]
    assert first["edges"][2]["node"]["job"] is None  # recorded without a job


async def test_the_feed_filters_by_kind_credential_type_and_time(
    gql: GraphQLClient, story: Story
) -> None:
    async def listed(**conditions: Any) -> list[tuple[str, str]]:
        answer = await gql(FEED, {"filter": conditions}, token=story.token)
        return _kinds(answer.ok()["inventoryChanges"])

    assert await listed(kind=["CREATED", "DELETED"]) == [
        ("logs", "DELETED"),
        ("logs", "CREATED"),
        ("web", "CREATED"),
    ]
    assert await listed(credentialId=story.bucket_credential) == [
        ("logs", "DELETED"),
        ("logs", "CREATED"),
    ]
    assert await listed(resourceType=["VM"], kind=["UPDATED"]) == [
        ("web", "UPDATED"),
        ("web", "UPDATED"),
    ]
    since = (BASE_TIME + timedelta(hours=3)).isoformat()
    assert await listed(since=since) == [("web", "UPDATED"), ("logs", "DELETED")]


async def test_bad_filters_are_bad_requests(gql: GraphQLClient, story: Story) -> None:
    # a time without a zone, and an ID that is not a credential's
    for condition in (
        {"since": "2026-01-01T00:00:00"},
        {"credentialId": to_global_id("SyncJob", story.job.id)},
        {"credentialId": "not-an-id"},
    ):
        answer = await gql(FEED, {"filter": condition}, token=story.token)
        assert answer.error_codes == ["BAD_REQUEST"], condition


async def test_a_resources_history_is_its_own_changes_newest_first(
    gql: GraphQLClient, story: Story
) -> None:
    web = to_global_id("CloudResource", story.resources[0]["id"])
    # when the owner pages through the instance's history two at a time
    first = (await gql(HISTORY, {"id": web, "first": 2}, token=story.token)).ok()["node"]
    after = first["history"]["pageInfo"]["endCursor"]
    second = (await gql(HISTORY, {"id": web, "first": 2, "after": after}, token=story.token)).ok()
    # then it sees the instance's three changes only, newest first
    pages = [first["history"], second["node"]["history"]]
    assert [[e["node"]["kind"] for e in page["edges"]] for page in pages] == [
        ["UPDATED", "UPDATED"],
        ["CREATED"],
    ]
    assert first["history"]["totalCount"] == 3
    assert pages[0]["edges"][1]["node"]["changes"] == [
        {"field": "tags.env", "before": "dev", "after": "prod"}
    ]
    # and a cursor of this history is refused on another resource's
    logs = to_global_id("CloudResource", story.resources[1]["id"])
    moved = await gql(HISTORY, {"id": logs, "first": 2, "after": after}, token=story.token)
    assert moved.error_codes == ["BAD_REQUEST"]


async def test_a_change_whose_resource_and_job_are_gone_keeps_what_it_said(
    gql: GraphQLClient, runtime: Runtime, story: Story
) -> None:
    # given the bucket purged and the job deleted
    async with runtime.database.system_session() as session:
        await session.execute(
            delete(CloudResourceRow).where(CloudResourceRow.id == story.resources[1]["id"])
        )
        await session.execute(delete(SyncJobRow).where(SyncJobRow.id == story.job.id))
    # when the feed is read
    edges = (await gql(FEED, {}, token=story.token)).ok()["inventoryChanges"]["edges"]
    # then the bucket's records remain, without resource or job, with its provider id
    nodes = [edge["node"] for edge in edges]
    gone = [node for node in nodes if node["resource"] is None]
    assert [node["kind"] for node in gone] == ["DELETED", "CREATED"]
    assert {node["resourceId"] for node in gone} == {story.resources[1]["resource_id"]}
    assert all(node["job"] is None for node in nodes)


async def test_another_user_sees_none_of_it(
    gql: GraphQLClient, runtime: Runtime, story: Story
) -> None:
    # given another user, who learned a change's id, a resource's id and a feed cursor
    mallory = access_token(runtime, await create_user(runtime))
    feed = (await gql(FEED, {"first": 2}, token=story.token)).ok()["inventoryChanges"]
    change_id = feed["edges"][0]["node"]["id"]
    cursor = feed["pageInfo"]["endCursor"]
    web = to_global_id("CloudResource", story.resources[0]["id"])
    # when they read the feed, filter it by the owner's credential, and fetch those ids
    own = (await gql(FEED, {}, token=mallory)).ok()["inventoryChanges"]
    by_credential = await gql(
        FEED, {"filter": {"credentialId": story.vm_credential}}, token=mallory
    )
    node = (await gql(NODE, {"id": change_id}, token=mallory)).ok()["node"]
    history = (await gql(HISTORY, {"id": web}, token=mallory)).ok()["node"]
    # then they see nothing at all
    assert (own["totalCount"], own["edges"]) == (0, [])
    assert by_credential.ok()["inventoryChanges"]["edges"] == []
    assert node is None and history is None
    # and the owner's cursor is refused for them before any SQL runs
    stolen = await gql(FEED, {"first": 2, "after": cursor}, token=mallory)
    assert stolen.error_codes == ["BAD_REQUEST"] and stolen.data is None
    # while the owner reaches the change by its id
    assert (await gql(NODE, {"id": change_id}, token=story.token)).ok()["node"]["kind"] == "UPDATED"


async def test_anonymous_callers_are_refused(gql: GraphQLClient, story: Story) -> None:
    assert (await gql(FEED, {})).error_codes == ["UNAUTHENTICATED"]


def _cost(query: str) -> int:
    document = parse(query)
    return operation_cost(schema._schema, document, document.definitions[0], {})  # type: ignore[arg-type]


def test_nested_histories_multiply_in_the_query_cost() -> None:
    # a page of 100 resources with five changes each costs the page and 500 changes
    page = (
        "{ resources(first: 100) { edges { node {"
        " history(first: 5) { edges { node { at } } } } } } }"
    )
    assert _cost(page) == 100 + 100 * 5
    # a full history of every resource of a page is refused before it reaches the database
    greedy = page.replace("history(first: 5)", "history(first: 100)")
    assert _cost(greedy) > MAX_NODES
    # and the feed's resources count as the page's nodes
    feed = (
        "{ inventoryChanges(first: 100) { edges { node {"
        " resource { history { totalCount } } } } } }"
    )
    assert _cost(feed) == 100 + 100 * 20


async def test_too_much_history_is_refused_as_too_complex(gql: GraphQLClient, story: Story) -> None:
    query = (
        "{ resources(first: 100) { edges { node {"
        " history(first: 100) { edges { node { at } } } } } } }"
    )
    assert (await gql(query, token=story.token)).error_codes == ["QUERY_TOO_COMPLEX"]


async def test_a_page_with_histories_is_served_by_the_regular_path_with_the_same_bytes(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given resources with change records
    owner = await create_user(runtime)
    credential = await create_credential(runtime, owner)
    resources = [resource_values(credential, i) for i in range(3)]
    await insert_resources(runtime, resources)
    await insert_changes(
        runtime,
        [
            change_values(resource, BASE_TIME + timedelta(minutes=step), kind)
            for resource in resources
            for step, kind in enumerate((ResourceChangeKind.CREATED, ResourceChangeKind.UPDATED))
        ],
    )
    token = access_token(runtime, owner)
    spy = Spy(graphql_view(app))
    op = Operation(
        "{ resources(first: 3) { edges { node { id name "
        "history(first: 2) { totalCount edges { node { kind at } } } } } } }"
    )
    # when a page selecting `history` is sent with the read fast path on, and with it off
    fast = await post(http, op, token)
    spy.enabled(False)
    regular = await post(http, op, token)
    # then the fast path handed it over (history is not a plain field) and the answers are equal
    assert spy.served == [False]
    _same(fast, regular, op)
    edges = fast.json()["data"]["resources"]["edges"]
    assert [e["node"]["history"]["totalCount"] for e in edges] == [2, 2, 2]
