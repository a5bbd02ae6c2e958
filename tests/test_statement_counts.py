"""Nested reads cost a constant number of SQL statements, whatever the number of rows.

Each count includes the token holder's lookup and, on PostgreSQL, the per-transaction
`set_config` that carries the acting user for row-level security.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from db.enums import SyncJobStatus
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.inventory_factories import (
    create_credential,
    create_resources,
    create_sync_job,
    insert_resources,
    resource_values,
)
from tests.statement_counter import counting_statements

PAGE_WITH_CREDENTIALS = """
query {
  resources(first: 100) {
    totalCount
    edges { node { id name status credential { id name provider health { status } } } }
  }
}
"""

# Every credential with its nested relations.
CREDENTIALS_WITH_RESOURCES = """
query {
  credentials {
    name
    resourceCount
    lastSync { status credential { name } }
    resources(first: 10) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { name credential { name } } }
    }
  }
}
"""

Measure = Callable[[int], Awaitable[tuple[int, int]]]


async def _statements(gql: GraphQLClient, runtime: Runtime, query: str, token: str) -> int:
    with counting_statements(runtime) as counter:
        response = await gql(query, token=token)
    response.ok()
    return counter.count


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_a_page_of_resources_with_credentials_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` resources spread over up to 10 credentials
    owner = await create_user(runtime)
    credentials = [await create_credential(runtime, owner) for _ in range(min(rows, 10))]
    await insert_resources(
        runtime,
        [resource_values(credentials[i % len(credentials)], i) for i in range(rows)],
    )
    token = access_token(runtime, owner)
    # when one page lists them all with their credential
    count = await _statements(gql, runtime, PAGE_WITH_CREDENTIALS, token)
    # then: auth lookup, page, credential batch, total count; PostgreSQL adds one set_config each
    assert count == (4 if backend == "sqlite" else 8)


@pytest.mark.parametrize("credentials", [1, 10, 100])
async def test_all_credentials_with_counts_and_first_resources_cost_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, credentials: int
) -> None:
    # given `credentials` credentials, each with 12 resources and a finished sync
    owner = await create_user(runtime)
    for _ in range(credentials):
        credential = await create_credential(runtime, owner)
        await create_resources(runtime, credential, 12)
        await create_sync_job(runtime, credential, status=SyncJobStatus.SUCCEEDED)
    token = access_token(runtime, owner)
    # when every credential is listed with resourceCount, lastSync and resources(first: 10)
    with counting_statements(runtime) as counter:
        response = await gql(CREDENTIALS_WITH_RESOURCES, token=token)
    listed = response.ok()["credentials"]
    # then the answer is complete
    assert len(listed) == credentials
    for nested in listed:
        assert nested["resourceCount"] == 12
        assert nested["resources"]["totalCount"] == 12
        assert len(nested["resources"]["edges"]) == 10
        assert nested["resources"]["pageInfo"]["hasNextPage"] is True
        assert nested["lastSync"]["status"] == "SUCCEEDED"
        assert {e["node"]["credential"]["name"] for e in nested["resources"]["edges"]} == {
            nested["name"]
        }
    # and the statement count does not depend on how many credentials there are:
    # auth, the credential list, then one batch each for counts, pages, last syncs and the
    # nested credentials (the count batch serves both resourceCount and totalCount);
    # PostgreSQL adds one set_config per transaction
    assert counter.count == (6 if backend == "sqlite" else 12), counter.statements
