"""Nested reads cost a constant number of SQL statements, whatever the number of rows.

Each count includes the token holder's lookup and, on PostgreSQL, the per-transaction
`set_config` that carries the acting user for row-level security.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import insert
from starlette.applications import Starlette

from db.enums import AccountStatus, RelationType, ResourceChangeKind, SyncJobStatus
from db.models import CloudAccountRow, ResourceRelationRow
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.finding_factories import finding_values, insert_findings
from tests.graphql_client import GraphQLClient
from tests.history_support import change_values, insert_changes
from tests.inventory_factories import (
    BASE_TIME,
    create_credential,
    create_resources,
    create_sync_job,
    insert_resources,
    resource_values,
)
from tests.statement_counter import counting_statements
from tests.test_fast_path_differential import graphql_view

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


CREDENTIALS_WITH_ACCOUNTS = """
query { credentials { name accounts { accountId name status lastSyncedAt resourceCount error } } }
"""


@pytest.mark.parametrize("credentials", [1, 10, 100])
async def test_every_credential_with_its_accounts_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, credentials: int
) -> None:
    # given `credentials` credentials, each covering three cloud accounts
    owner = await create_user(runtime)
    made = [await create_credential(runtime, owner) for _ in range(credentials)]
    async with runtime.database.system_session() as session:
        await session.execute(
            insert(CloudAccountRow),
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": owner.id,
                    "credential_id": credential.id,
                    "account_id": f"10000000000{n}",
                    "name": f"member-{n}",
                    "status": AccountStatus.ACTIVE,
                    "resource_count": n,
                }
                for credential in made
                for n in range(3)
            ],
        )
    token = access_token(runtime, owner)
    # when every credential is listed with its accounts
    with counting_statements(runtime) as counter:
        response = await gql(CREDENTIALS_WITH_ACCOUNTS, token=token)
    listed = response.ok()["credentials"]
    # then each has its three accounts, in account order
    assert len(listed) == credentials
    for nested in listed:
        assert [a["accountId"] for a in nested["accounts"]] == [f"10000000000{n}" for n in range(3)]
        assert [a["resourceCount"] for a in nested["accounts"]] == [0, 1, 2]
    # and the count does not depend on how many: auth, credentials, one batch of accounts;
    # PostgreSQL adds one set_config per transaction
    assert counter.count == (3 if backend == "sqlite" else 6), counter.statements


PAGE_WITH_RELATIONS = """
query {
  resources(first: 100) {
    edges { node { name relations { type direction targetResourceId resource { id name } } } }
  }
}
"""


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_a_page_of_resources_with_their_relations_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` instances, each protected by a group that is in the inventory and using a
    # profile that is not
    owner = await create_user(runtime)
    credential = await create_credential(runtime, owner)
    instances = [resource_values(credential, i) for i in range(rows)]
    group = resource_values(credential, rows, name="aa-group", native_type="AWS::EC2::SG")
    await insert_resources(runtime, [*instances, group])
    relations = [
        {
            "id": uuid.uuid4(),
            "user_id": owner.id,
            "credential_id": credential.id,
            "scope": "us-east-1/AWS::EC2::Instance",
            "source_resource_id": row["resource_id"],
            "type": kind,
            "target_resource_id": target,
        }
        for row in instances
        for kind, target in (
            (RelationType.PROTECTED_BY, group["resource_id"]),
            (RelationType.USES, "arn:aws:iam::1:instance-profile/p"),
        )
    ]
    async with runtime.database.system_session() as session:
        await session.execute(insert(ResourceRelationRow), relations)
    token = access_token(runtime, owner)
    # when one page lists them all with their relations and the resources at the other end
    with counting_statements(runtime) as counter:
        response = await gql(PAGE_WITH_RELATIONS, token=token)
    edges = response.ok()["resources"]["edges"]
    # then every relation is there, both ways, with its resource when it is in the inventory
    by_name = {edge["node"]["name"]: edge["node"]["relations"] for edge in edges}
    assert len(by_name["aa-group"]) == min(rows, 50)  # incoming, up to the default limit
    assert {r["direction"] for r in by_name["aa-group"]} == {"INCOMING"}
    first = sorted(by_name["res-00000"], key=lambda r: r["type"])
    assert [(r["type"], r["resource"] and r["resource"]["name"]) for r in first] == [
        ("PROTECTED_BY", "aa-group"),
        ("USES", None),
    ]
    # and the statements do not depend on the page size: auth, page, one relations batch
    # (both directions, the other ends joined); PostgreSQL adds one set_config each
    assert counter.count == (3 if backend == "sqlite" else 6), counter.statements


PLAIN_PAGE = """
query {
  resources(first: 100) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name provider type status tags costPerHour lastSyncedAt } }
  }
}
"""


FEED_PAGE = """
query {
  inventoryChanges(first: 100) {
    totalCount
    edges { cursor node {
      kind at changes { field before after } resource { name } job { status }
    } }
  }
}
"""
PAGE_WITH_HISTORY = """
query {
  resources(first: 100) {
    edges { node { name history(first: 5) {
      totalCount
      pageInfo { hasNextPage }
      edges { cursor node { kind at changes { field } } }
    } } }
  }
}
"""


NESTED_PAGES = """
query {
  credentials {
    resourceCount
    lastSync { status }
    resources(first: 5) { pageInfo { hasNextPage } edges { node { name } } }
  }
}
"""


@pytest.mark.parametrize("credentials", [1, 3, 10])
async def test_nested_pages_of_1_3_or_10_credentials_cost_constant_statements(
    app: Starlette, gql: GraphQLClient, runtime: Runtime, backend: str, credentials: int
) -> None:
    # given `credentials` credentials of 12 resources each, with a finished sync
    owner = await create_user(runtime)
    for _ in range(credentials):
        credential = await create_credential(runtime, owner)
        await create_resources(runtime, credential, 12)
        await create_sync_job(runtime, credential, status=SyncJobStatus.SUCCEEDED)
    token = access_token(runtime, owner)
    # when each is listed with its count, last sync and first page
    with counting_statements(runtime) as counter:
        response = await gql(NESTED_PAGES, token=token)
    listed = response.ok()["credentials"]
    # then every page holds its credential's first five by name
    assert len(listed) == credentials
    for nested in listed:
        assert nested["resourceCount"] == 12
        assert [e["node"]["name"] for e in nested["resources"]["edges"]] == [
            f"res-{n:05d}" for n in range(5)
        ]
        assert nested["resources"]["pageInfo"]["hasNextPage"] is True
    # and the fast path reads it all in one statement for 1, 3 or 10: the credentials with
    # their counts (from the aggregates), last syncs and pages (at most six rows each: a
    # LATERAL page on PostgreSQL, a correlated `IN (… LIMIT 6)` on SQLite) and the account
    assert counter.count == 1, counter.statements
    (listing,) = counter.statements
    assert "FROM resource_counts" in listing and "LIMIT" in listing
    assert ("LATERAL" in listing) == (backend == "postgres")
    # (the regular path: auth, the credential list, the counts, the pages (one LIMITed read
    # per credential in one statement) and the last syncs; PostgreSQL adds one set_config per
    # transaction)
    graphql_view(app).fast_path = None
    with counting_statements(runtime) as counter:
        again = await gql(NESTED_PAGES, token=token)
    assert again.ok()["credentials"] == listed
    assert counter.count == (5 if backend == "sqlite" else 10), counter.statements
    (pages,) = [s for s in counter.statements if "LIMIT" in s and "resources.name" in s]
    assert ("LATERAL" in pages) == (backend == "postgres")
    (counts,) = [s for s in counter.statements if "sum(resource_counts.count)" in s]
    assert "FROM resource_counts" in counts


DASHBOARD = """
query {
  dashboard {
    totalResources activeVms estimatedMonthlyCost
    providerBreakdown { provider count }
    costByService { service cost }
    regionDistribution { region count }
    accounts { account provider count }
    providerHealth { credential { name } }
    lastUpdated
  }
}
"""


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_a_plain_page_of_resources_costs_constant_statements(
    app: Starlette, gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` resources
    owner = await create_user(runtime)
    credential = await create_credential(runtime, owner)
    await insert_resources(runtime, [resource_values(credential, i) for i in range(rows)])
    token = access_token(runtime, owner)
    view = graphql_view(app)
    # when a page of plain fields is read (the read fast path serves it)
    with counting_statements(runtime) as counter:
        response = await gql(PLAIN_PAGE, token=token)
    assert len(response.ok()["resources"]["edges"]) == rows
    # then two statements: the page (which also reads the caller's account; on PostgreSQL it
    # also sets the acting user for row-level security) and the total count
    assert counter.count == 2, counter.statements
    # (the regular path: the caller's lookup, the page and the count, each with its set_config)
    view.fast_path = None
    assert await _statements(gql, runtime, PLAIN_PAGE, token) == (3 if backend == "sqlite" else 6)


async def _resources_with_history(runtime: Runtime, rows: int) -> tuple[str, int]:
    """`rows` instances over up to 10 credentials, each with a CREATED record and six retags,
    every record by one of 10 jobs."""
    owner = await create_user(runtime)
    credentials = [await create_credential(runtime, owner) for _ in range(min(rows, 10))]
    jobs = [await create_sync_job(runtime, credential) for credential in credentials]
    resources = [resource_values(credentials[i % len(credentials)], i) for i in range(rows)]
    await insert_resources(runtime, resources)
    changes = [
        change_values(
            resource,
            BASE_TIME + timedelta(minutes=step),
            ResourceChangeKind.UPDATED if step else ResourceChangeKind.CREATED,
            job_id=jobs[index % len(jobs)].id,
            changes=[{"field": "tags.step", "before": step - 1, "after": step}] if step else [],
        )
        for index, resource in enumerate(resources)
        for step in range(7)
    ]
    await insert_changes(runtime, changes)
    return access_token(runtime, owner), len(changes)


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_a_page_of_the_change_feed_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` resources with seven change records each
    token, total = await _resources_with_history(runtime, rows)
    # when a page of the feed is read with each change's resource and job
    with counting_statements(runtime) as counter:
        response = await gql(FEED_PAGE, token=token)
    feed = response.ok()["inventoryChanges"]
    # then the page is complete
    assert feed["totalCount"] == total
    assert len(feed["edges"]) == min(total, 100)
    assert all(e["node"]["resource"]["name"] and e["node"]["job"] for e in feed["edges"])
    # and costs auth, page, one resource batch, one job batch, the count; PostgreSQL adds one
    # set_config per transaction
    assert counter.count == (5 if backend == "sqlite" else 10), counter.statements


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_a_page_of_resources_with_their_histories_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` resources with seven change records each
    token, _ = await _resources_with_history(runtime, rows)
    # when a page of resources is read with the last five changes of each
    with counting_statements(runtime) as counter:
        response = await gql(PAGE_WITH_HISTORY, token=token)
    edges = response.ok()["resources"]["edges"]
    # then every resource has its five newest changes, newest first, and more to come
    assert len(edges) == rows
    for edge in edges:
        history = edge["node"]["history"]
        assert history["totalCount"] == 7 and history["pageInfo"]["hasNextPage"] is True
        assert [e["node"]["changes"][0]["field"] for e in history["edges"]] == ["tags.step"] * 5
        times = [e["node"]["at"] for e in history["edges"]]
        assert times == sorted(times, reverse=True)
    # and costs auth, page, one history batch (LATERAL on PostgreSQL), one count batch;
    # PostgreSQL adds one set_config per transaction
    assert counter.count == (4 if backend == "sqlite" else 8), counter.statements


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_the_dashboard_reads_only_aggregates_in_constant_statements(
    app: Starlette, gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` resources over up to 3 credentials
    owner = await create_user(runtime)
    credentials = [await create_credential(runtime, owner) for _ in range(min(rows, 3))]
    await insert_resources(
        runtime,
        [
            resource_values(credentials[i % len(credentials)], i, cost_per_hour=0.5)
            for i in range(rows)
        ],
    )
    token = access_token(runtime, owner)
    # when the dashboard is read
    with counting_statements(runtime) as counter:
        response = await gql(DASHBOARD, token=token)
    board = response.ok()["dashboard"]
    assert board["totalResources"] == rows
    # then the fast path reads it: on PostgreSQL one statement (the acting user, the account
    # and every part as arrays); on SQLite the four grouped reads of the aggregates (per
    # provider, service, region and account), the credentials and the account; no statement
    # reads the resource rows
    assert counter.count == (6 if backend == "sqlite" else 1), counter.statements
    assert not [s for s in counter.statements if "FROM resources" in s]
    # (the regular path: auth, the same five reads, and on PostgreSQL one set_config per
    # transaction)
    graphql_view(app).fast_path = None
    with counting_statements(runtime) as counter:
        again = await gql(DASHBOARD, token=token)
    assert again.ok()["dashboard"] == board
    assert counter.count == (6 if backend == "sqlite" else 8), counter.statements
    assert not [s for s in counter.statements if "FROM resources" in s]


FINDINGS_PAGE = """
query {
  findings(first: 100, filter: {status: [OPEN]}) {
    totalCount
    edges {
      cursor
      node { id status details rule { id severity } resource { id name credential { name } } }
    }
  }
}
"""
RESOURCES_WITH_FINDINGS = """
query {
  resources(first: 100) {
    edges { node { name findings { id status rule { id title } resource { name } } } }
  }
}
"""


async def _with_findings(runtime: Runtime, rows: int) -> str:
    """`rows` resources over up to 10 credentials, each failing two rules."""
    owner = await create_user(runtime)
    credentials = [await create_credential(runtime, owner) for _ in range(min(rows, 10))]
    values = [resource_values(credentials[i % len(credentials)], i) for i in range(rows)]
    ids = await insert_resources(runtime, values)
    findings = [
        finding_values(credentials[i % len(credentials)], row_id, rule_id)
        for i, row_id in enumerate(ids)
        for rule_id in ("aws-ec2-sg-open-ssh", "aws-ec2-sg-open-rdp")
    ]
    await insert_findings(runtime, findings)
    return access_token(runtime, owner)


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_a_page_of_findings_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` resources each with two open findings, over up to 10 credentials
    token = await _with_findings(runtime, rows)
    # when a page of findings is listed with rules, resources and credentials
    with counting_statements(runtime) as counter:
        response = await gql(FINDINGS_PAGE, token=token)
    page = response.ok()["findings"]
    # then the page is complete
    assert page["totalCount"] == 2 * rows
    assert len(page["edges"]) == min(2 * rows, 100)
    # and costs auth, the page (resources joined), the credential batch, the count;
    # PostgreSQL adds one set_config each
    assert counter.count == (4 if backend == "sqlite" else 8), counter.statements


@pytest.mark.parametrize("rows", [1, 10, 100])
async def test_a_page_of_resources_with_their_findings_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, rows: int
) -> None:
    # given `rows` resources each with two open findings
    token = await _with_findings(runtime, rows)
    # when a page of resources lists their findings
    with counting_statements(runtime) as counter:
        response = await gql(RESOURCES_WITH_FINDINGS, token=token)
    edges = response.ok()["resources"]["edges"]
    # then every resource has its two findings, pointing back at it
    assert len(edges) == rows
    for edge in edges:
        node = edge["node"]
        assert sorted(f["rule"]["id"] for f in node["findings"]) == [
            "aws-ec2-sg-open-rdp",
            "aws-ec2-sg-open-ssh",
        ]
        assert {f["resource"]["name"] for f in node["findings"]} == {node["name"]}
    # and costs auth, the page, one findings batch; PostgreSQL adds one set_config each
    assert counter.count == (3 if backend == "sqlite" else 6), counter.statements
