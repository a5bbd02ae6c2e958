"""The `resources` connection: filters, orderings, keyset pages in both directions, cursors."""

from __future__ import annotations

from typing import Any

from db.enums import Provider, ResourceStatus, ResourceType
from db.models import UserRow
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.inventory_factories import (
    BASE_TIME,
    create_credential,
    create_resources,
    insert_resources,
    resource_values,
)

RESOURCES = """
query Resources($first: Int, $after: String, $last: Int, $before: String,
                $filter: ResourceFilter, $orderBy: ResourceOrder) {
  resources(first: $first, after: $after, last: $last, before: $before,
            filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name resourceId costPerHour region status type provider tags } }
  }
}
"""


async def _names(gql: GraphQLClient, token: str, **variables: Any) -> list[str]:
    data = (await gql(RESOURCES, variables, token=token)).ok()["resources"]
    return [edge["node"]["name"] for edge in data["edges"]]


async def _walk(
    gql: GraphQLClient, token: str, size: int, backward: bool = False, **variables: Any
) -> list[str]:
    """Every name, following cursors page by page (forward with first/after, or last/before)."""
    names: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        page_args = (
            {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        )
        data = (await gql(RESOURCES, {**variables, **page_args}, token=token)).ok()["resources"]
        page = [edge["node"]["name"] for edge in data["edges"]]
        info = data["pageInfo"]
        if backward:
            names = page + names
            if not info["hasPreviousPage"]:
                return names
            cursor = info["startCursor"]
        else:
            names += page
            if not info["hasNextPage"]:
                return names
            cursor = info["endCursor"]
    raise AssertionError("pagination did not end")


async def _owner_with_resources(runtime: Runtime, count: int) -> tuple[UserRow, str]:
    owner = await create_user(runtime)
    credential = await create_credential(runtime, owner)
    await create_resources(runtime, credential, count)
    return owner, access_token(runtime, owner)


async def test_default_page_is_20_by_name_with_total_count(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given 25 resources
    _, token = await _owner_with_resources(runtime, 25)
    # when asking without page arguments
    data = (await gql(RESOURCES, token=token)).ok()["resources"]
    # then the first 20 by name come back, and the total says 25
    assert [e["node"]["name"] for e in data["edges"]] == [f"res-{i:05d}" for i in range(20)]
    assert data["totalCount"] == 25
    assert data["pageInfo"]["hasNextPage"] is True
    assert data["pageInfo"]["hasPreviousPage"] is False
    assert data["pageInfo"]["startCursor"] == data["edges"][0]["cursor"]
    assert data["pageInfo"]["endCursor"] == data["edges"][-1]["cursor"]


async def test_forward_and_backward_walks_visit_every_row_once(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given 23 resources, two of them sharing a name (the tie is broken by id)
    owner, token = await _owner_with_resources(runtime, 21)
    credential = await create_credential(runtime, owner)
    await insert_resources(
        runtime, [resource_values(credential, 100 + i, name="res-00005") for i in range(2)]
    )
    # when walking pages of 4 both ways
    forward = await _walk(gql, token, 4)
    backward = await _walk(gql, token, 4, backward=True)
    # then both walks see the 23 rows in the same order
    assert len(forward) == 23
    assert forward == sorted(forward)
    assert backward == forward


async def test_every_ordering_pages_stably_in_both_directions(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given resources with costs, equal costs and unknown costs
    owner = await create_user(runtime)
    token = access_token(runtime, owner)
    credential = await create_credential(runtime, owner)
    costs = [0.5, None, 0.1, 0.5, None, 2.0, 0.0, 0.1, None, 1.0]
    await insert_resources(
        runtime,
        [resource_values(credential, i, cost_per_hour=c) for i, c in enumerate(costs)],
    )
    for field in ("NAME", "LAST_SYNCED_AT", "COST", "FIRST_SEEN_AT"):
        for direction in ("ASC", "DESC"):
            order = {"field": field, "direction": direction}
            # when listing all at once and walking in pages of 3 both ways
            everything = await _names(gql, token, first=100, orderBy=order)
            forward = await _walk(gql, token, 3, orderBy=order)
            backward = await _walk(gql, token, 3, backward=True, orderBy=order)
            # then the pages agree with the single listing
            assert forward == everything, order
            assert backward == everything, order
    # and costs sort with unknown costs last in both directions
    ascending = await gql(RESOURCES, {"first": 100, "orderBy": {"field": "COST"}}, token=token)
    listed = [e["node"]["costPerHour"] for e in ascending.ok()["resources"]["edges"]]
    assert listed == [0.0, 0.1, 0.1, 0.5, 0.5, 1.0, 2.0, None, None, None]
    descending = await gql(
        RESOURCES, {"first": 100, "orderBy": {"field": "COST", "direction": "DESC"}}, token=token
    )
    listed = [e["node"]["costPerHour"] for e in descending.ok()["resources"]["edges"]]
    assert listed == [2.0, 1.0, 0.5, 0.5, 0.1, 0.1, 0.0, None, None, None]


async def test_filters_combine(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a mix of resources over two credentials
    owner = await create_user(runtime)
    token = access_token(runtime, owner)
    aws = await create_credential(runtime, owner, "aws")
    gcp = await create_credential(runtime, owner, "gcp", provider=Provider.GCP)
    await insert_resources(
        runtime,
        [
            resource_values(
                aws,
                1,
                name="web-1",
                tags={"env": "prod", "team": "a", "aws:cloudformation:stack-name": "s.1 x"},
            ),
            resource_values(aws, 2, name="Web-2", tags={"env": "dev"}, region="eu-west-1"),
            resource_values(
                aws, 3, name="bucket", type=ResourceType.STORAGE, status=ResourceStatus.ACTIVE
            ),
            resource_values(aws, 4, name="old-web", deleted_at=BASE_TIME),
            resource_values(aws, 5, name="100%_real", resource_id="arn:x:WEBBY"),
            resource_values(gcp, 6, name="gce-web", provider=Provider.GCP),
        ],
    )

    async def names(filter: dict[str, Any]) -> list[str]:
        return await _names(gql, token, first=100, filter=filter)

    # then each filter selects what it says
    assert await names({"search": "WEB"}) == ["100%_real", "Web-2", "gce-web", "web-1"]
    assert await names({"search": "0%_"}) == ["100%_real"]
    assert await names({"search": "web", "includeDeleted": True}) == [
        "100%_real",
        "Web-2",
        "gce-web",
        "old-web",
        "web-1",
    ]
    assert await names({"provider": ["GCP"]}) == ["gce-web"]
    assert await names({"type": ["STORAGE"]}) == ["bucket"]
    assert await names({"status": ["ACTIVE"]}) == ["bucket"]
    assert await names({"region": ["eu-west-1"]}) == ["Web-2"]
    assert await names({"tags": [{"key": "env"}]}) == ["Web-2", "web-1"]
    assert await names({"tags": [{"key": "env", "value": "prod"}, {"key": "team"}]}) == ["web-1"]
    assert await names({"credentialId": to_global_id("CloudCredential", gcp.id)}) == ["gce-web"]
    odd_key = {"key": "aws:cloudformation:stack-name", "value": "s.1 x"}
    assert await names({"tags": [odd_key]}) == ["web-1"]
    assert await names({"provider": ["AWS"], "type": ["VM"], "search": "web"}) == [
        "100%_real",
        "Web-2",
        "web-1",
    ]
    # and totalCount follows the filter
    counted = await gql(RESOURCES, {"filter": {"provider": ["AWS"]}}, token=token)
    assert counted.ok()["resources"]["totalCount"] == 4


async def test_other_users_resources_are_invisible(gql: GraphQLClient, runtime: Runtime) -> None:
    # given alice and bob with resources, and bob's credential id
    _, alice_token = await _owner_with_resources(runtime, 3)
    bob = await create_user(runtime)
    bob_credential = await create_credential(runtime, bob)
    await create_resources(runtime, bob_credential, 5)
    # when alice lists everything, or filters on bob's credential
    everything = (await gql(RESOURCES, {"first": 100}, token=alice_token)).ok()["resources"]
    by_bob = await gql(
        RESOURCES,
        {"filter": {"credentialId": to_global_id("CloudCredential", bob_credential.id)}},
        token=alice_token,
    )
    # then she only ever sees her own
    assert everything["totalCount"] == 3
    assert by_bob.ok()["resources"] == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


async def test_out_of_range_arguments_are_bad_requests(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    _, token = await _owner_with_resources(runtime, 1)
    for variables in (
        {"first": 0},
        {"first": 101},
        {"last": -1},
        {"first": 5, "last": 5},
        {"filter": {"tags": [{"key": 'a"b'}]}},
        {"filter": {"search": "x" * 201}},
        {"filter": {"credentialId": "not-an-id"}},
    ):
        response = await gql(RESOURCES, variables, token=token)
        assert response.error_codes == ["BAD_REQUEST"], variables
        assert response.data is None
    assert (await gql(RESOURCES, {"first": 100}, token=token)).ok()


async def test_forged_edited_and_foreign_cursors_are_bad_requests(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a real cursor of alice, and bob
    _, alice_token = await _owner_with_resources(runtime, 5)
    _, bob_token = await _owner_with_resources(runtime, 5)
    first = (await gql(RESOURCES, {"first": 2}, token=alice_token)).ok()["resources"]
    cursor = first["pageInfo"]["endCursor"]
    body, _, signature = cursor.partition(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    attempts = {
        "edited payload": {"first": 2, "after": f"{flipped}.{signature}"},
        "made up": {"first": 2, "after": "eyJuYW1lIjoieCJ9.AAAAAAAAAAAAAAAAAAAAAA"},
        "not a cursor": {"first": 2, "after": "%%%"},
        "other ordering": {"first": 2, "after": cursor, "orderBy": {"field": "COST"}},
        "other direction": {"last": 2, "before": cursor, "orderBy": {"direction": "DESC"}},
    }
    for what, variables in attempts.items():
        response = await gql(RESOURCES, variables, token=alice_token)
        # then each one is refused without data
        assert response.error_codes == ["BAD_REQUEST"], what
        assert response.data is None, what
    # and alice's cursor is refused for bob, so it can reveal nothing of hers
    foreign = await gql(RESOURCES, {"first": 2, "after": cursor}, token=bob_token)
    assert foreign.error_codes == ["BAD_REQUEST"]
    # while the untouched cursor works for alice
    assert (await gql(RESOURCES, {"first": 2, "after": cursor}, token=alice_token)).ok()


async def test_resources_need_authentication(gql: GraphQLClient) -> None:
    response = await gql(RESOURCES)
    assert response.error_codes == ["UNAUTHENTICATED"]
