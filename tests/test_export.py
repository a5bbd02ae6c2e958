"""`GET /export/resources`: the same rows as the `resources` connection, as CSV or NDJSON, for
the token's owner only."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from core.settings import Settings
from db.enums import ResourceStatus, ResourceType
from db.models import UserRow
from db.types import utcnow
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.inventory_factories import (
    create_credential,
    create_resources,
    insert_resources,
    resource_values,
)

FIELDS = (
    "id name provider type nativeType resourceId region account status tags metadata "
    "costPerHour estimatedMonthlyCost credential { id } firstSeenAt lastSyncedAt deletedAt"
)


def parse_csv(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


async def connection(
    gql: GraphQLClient, token: str, filter_: dict[str, Any]
) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        response = await gql(
            "query($f: ResourceFilter, $a: String) { resources(first: 100, after: $a, filter: $f) "
            f"{{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {FIELDS} }} }} }} }}",
            {"f": filter_, "a": after},
            token=token,
        )
        page = response.ok()["resources"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def as_csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    return str(value)


async def owner_with_inventory(runtime: Runtime, count: int = 150) -> tuple[UserRow, str, object]:
    user = await create_user(runtime)
    credential = await create_credential(runtime, user)
    rows = [
        resource_values(
            credential,
            i,
            type=ResourceType.VM if i % 3 else ResourceType.STORAGE,
            region="eu-west-1" if i % 2 else "us-east-1",
            cost_per_hour=None if i % 5 == 0 else 0.0125 * i,
            tags={"env": "prod" if i % 4 == 0 else "dev", "team": "core"},
        )
        for i in range(count)
    ]
    await insert_resources(runtime, rows)
    return user, access_token(runtime, user), credential


@pytest.mark.parametrize(
    "filter_, query",
    [
        ({}, ""),
        ({"type": ["VM"], "region": ["eu-west-1"]}, "type=VM&region=eu-west-1"),
        ({"tags": [{"key": "env", "value": "prod"}]}, "tag=env=prod"),
        ({"search": "res-0001"}, "search=res-0001"),
    ],
)
async def test_csv_has_the_header_and_the_connections_rows(
    runtime: Runtime,
    http: httpx.AsyncClient,
    gql: GraphQLClient,
    filter_: dict[str, Any],
    query: str,
) -> None:
    # Given a user with 150 resources and the same filter through GraphQL and the export
    _, token, _ = await owner_with_inventory(runtime)
    expected = await connection(gql, token, filter_)
    # When the CSV is downloaded with the bearer token
    response = await http.get(
        f"/export/resources?format=csv&{query}", headers={"authorization": f"Bearer {token}"}
    )
    # Then it is an attachment with a file name, opening with the header row
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="resources-') and disposition.endswith(
        '.csv"'
    )
    header = response.text.split("\r\n", 1)[0].split(",")
    assert header[:3] == ["id", "name", "provider"] and "credentialId" in header
    # And its rows are the connection's rows, in the same order, with the same values
    rows = parse_csv(response.text)
    assert [row["id"] for row in rows] == [node["id"] for node in expected]
    assert len(rows) == len(expected) > 0
    for row, node in zip(rows, expected, strict=True):
        for field, value in node.items():
            if field == "credential":
                assert row["credentialId"] == value["id"]
            else:
                assert row[field] == as_csv_cell(value), field


async def test_ndjson_has_one_object_per_row(
    runtime: Runtime, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    _, token, _ = await owner_with_inventory(runtime, count=30)
    expected = await connection(gql, token, {"status": ["RUNNING"]})
    response = await http.get(
        "/export/resources?format=ndjson&status=RUNNING&orderBy=NAME&direction=ASC",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["id"] for line in lines] == [node["id"] for node in expected]
    assert lines[0]["tags"] == expected[0]["tags"]


async def test_a_filter_naming_another_users_credential_exports_nothing(
    runtime: Runtime, http: httpx.AsyncClient
) -> None:
    # Given two users with inventories
    _, token, mine = await owner_with_inventory(runtime, count=5)
    _, _, theirs = await owner_with_inventory(runtime, count=5)
    headers = {"authorization": f"Bearer {token}"}
    # When one exports filtered on the other's credential, or on one that does not exist
    foreign = to_global_id("CloudCredential", theirs.id)  # type: ignore[attr-defined]
    unknown = to_global_id("CloudCredential", __import__("uuid").uuid4())
    answers = [
        await http.get(f"/export/resources?credentialId={cid}", headers=headers)
        for cid in (foreign, unknown)
    ]
    # Then both are the same empty export: a header and no rows, nothing revealing existence
    for answer in answers:
        assert answer.status_code == 200
        assert parse_csv(answer.text) == []
        assert answer.text.startswith("id,name,")
    own = await http.get(
        f"/export/resources?credentialId={to_global_id('CloudCredential', mine.id)}",  # type: ignore[attr-defined]
        headers=headers,
    )
    assert len(parse_csv(own.text)) == 5


async def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralized(
    runtime: Runtime, http: httpx.AsyncClient
) -> None:
    user = await create_user(runtime)
    credential = await create_credential(runtime, user)
    names = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain"]
    await insert_resources(
        runtime,
        [
            resource_values(credential, i, name=name, tags={"k": "=1+1"})
            for i, name in enumerate(names)
        ],
    )
    response = await http.get(
        "/export/resources", headers={"authorization": f"Bearer {access_token(runtime, user)}"}
    )
    rows = parse_csv(response.text)
    exported = {row["name"] for row in rows}
    assert exported == {"'" + n if n != "plain" else n for n in names}
    assert all(not row["name"].startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows)
    assert all(row["tags"] == '{"k":"=1+1"}' for row in rows)  # JSON text starts with {


async def test_the_export_refuses_bad_tokens(runtime: Runtime, http: httpx.AsyncClient) -> None:
    user = await create_user(runtime)
    await create_resources(runtime, await create_credential(runtime, user), 3)
    token = access_token(runtime, user)
    refusals = {"no token": {}, "forged": {"authorization": "Bearer abc.def.ghi"}}
    for headers in refusals.values():
        response = await http.get("/export/resources", headers=headers)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A token issued before the user's sessions were revoked, or of a deactivated user
    async with runtime.database.system_session() as session:
        await session.execute(
            update(UserRow).where(UserRow.id == user.id).values(tokens_valid_after=utcnow())
        )
    assert (
        await http.get("/export/resources", headers={"authorization": f"Bearer {token}"})
    ).status_code == 401
    fresh = access_token(runtime, user)
    async with runtime.database.system_session() as session:
        await session.execute(update(UserRow).where(UserRow.id == user.id).values(is_active=False))
    assert (
        await http.get("/export/resources", headers={"authorization": f"Bearer {fresh}"})
    ).status_code == 401


@pytest.mark.parametrize(
    "query, message",
    [
        ("format=xlsx", "`format` must be csv or ndjson"),
        ("type=VMS", "`type` must be one of"),
        ("credentialId=nope", "not a valid ID"),
        ("regions=us-east-1", "Unknown parameter `regions`"),
        ("includeDeleted=maybe", "`includeDeleted` must be true or false"),
        ("search=" + "x" * 300, "`search` is limited"),
    ],
)
async def test_bad_parameters_are_a_bad_request(
    runtime: Runtime, http: httpx.AsyncClient, query: str, message: str
) -> None:
    token = access_token(runtime, await create_user(runtime))
    response = await http.get(
        f"/export/resources?{query}", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST" and message in error["message"]


async def test_an_unknown_dataset_is_not_found(runtime: Runtime, http: httpx.AsyncClient) -> None:
    response = await http.get("/export/passwords")
    assert response.status_code == 404


@pytest.fixture
def limited_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, rate_limit_default="2/minute")


async def test_exports_are_rate_limited_like_other_calls(limited_settings: Settings) -> None:
    from graph.app import create_app

    app = create_app(limited_settings)
    runtime: Runtime = app.state.runtime
    try:
        token = access_token(runtime, await create_user(runtime))
        transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"authorization": f"Bearer {token}"}
            codes = [
                (await client.get("/export/resources", headers=headers)).status_code
                for _ in range(3)
            ]
            refused = await client.get("/export/resources", headers=headers)
        assert codes == [200, 200, 429]
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        await runtime.close()


async def test_deleted_resources_need_include_deleted(
    runtime: Runtime, http: httpx.AsyncClient
) -> None:
    user = await create_user(runtime)
    credential = await create_credential(runtime, user)
    await insert_resources(
        runtime,
        [
            resource_values(credential, 0),
            resource_values(credential, 1, deleted_at=utcnow(), status=ResourceStatus.TERMINATED),
        ],
    )
    headers = {"authorization": f"Bearer {access_token(runtime, user)}"}
    assert len(parse_csv((await http.get("/export/resources", headers=headers)).text)) == 1
    both = await http.get("/export/resources?includeDeleted=true", headers=headers)
    assert len(parse_csv(both.text)) == 2
