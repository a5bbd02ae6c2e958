"""The read fast path answers byte for byte what graphql-core answers, on a generated corpus.

Every operation is sent twice to the same server: once with the fast path on, once with it off
(the regular Strawberry + graphql-core pipeline). Status, media type and body bytes must be equal
— data, errors, their paths and extensions — whether the fast path served it or handed it over.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from db.enums import Provider, ResourceStatus, ResourceType
from graph.app import create_app
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.fast_path_corpus import Operation, operation
from tests.inventory_factories import (
    BASE_TIME,
    create_credential,
    insert_resources,
    resource_values,
)

OPERATIONS = 200
SEED = 20261201


def graphql_view(app: Starlette) -> Any:
    return next(
        route.endpoint  # type: ignore[attr-defined]
        for route in app.routes
        if getattr(route, "path", None) == "/graphql" and getattr(route, "methods", None)
    )


class Spy:
    """Wraps the view's fast path and records whether it served each request."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.fast_path = view.fast_path
        self.served: list[bool] = []
        original = self.fast_path.respond

        async def respond(request: Any) -> Any:
            response = await original(request)
            self.served.append(response is not None)
            return response

        self.fast_path.respond = respond

    def enabled(self, on: bool) -> None:
        self.view.fast_path = self.fast_path if on else None


async def seed_inventory(runtime: Runtime) -> tuple[Any, list[str]]:
    owner = await create_user(runtime)
    other = await create_user(runtime)
    aws = await create_credential(runtime, owner, provider=Provider.AWS)
    gcp = await create_credential(runtime, owner, provider=Provider.GCP)
    rows = []
    types = (ResourceType.VM, ResourceType.STORAGE, ResourceType.NETWORK)
    statuses = (ResourceStatus.RUNNING, ResourceStatus.STOPPED, ResourceStatus.UNKNOWN)
    for index in range(30):
        credential = aws if index % 3 else gcp
        rows.append(
            resource_values(
                credential,
                index,
                # Repeated names: the id breaks ties; odd characters for the search filter.
                name=("A%B" if index % 7 == 0 else f"res-{index % 12:05d}"),
                type=types[index % 3],
                status=statuses[index % 3],
                region=("us-east-1", "eu-west-1", "global")[index % 3],
                tags={
                    "env": "prod" if index % 2 else "dev",
                    **({"team": "x"} if index % 5 else {}),
                },
                metadata={"size": index, "nested": {"list": [1, 2.5, None, "é"]}},
                configuration={} if index % 4 else {"public": True},
                cost_per_hour=None if index % 4 == 0 else round(0.013 * index, 4),
                cost_source=None if index % 4 == 0 else "prices.json aws_ec2 us-east-1 (2024-11)",
                first_seen_at=BASE_TIME + timedelta(hours=index % 5),
                last_synced_at=BASE_TIME + timedelta(minutes=index * 7, microseconds=index),
                deleted_at=BASE_TIME if index % 9 == 0 else None,
            )
        )
    elsewhere = await create_credential(runtime, other)
    rows.extend(resource_values(elsewhere, i) for i in range(5))
    await insert_resources(runtime, rows)
    return owner, [to_global_id("CloudCredential", aws.id), to_global_id("CloudCredential", gcp.id)]


async def post(http: httpx.AsyncClient, op: Operation, token: str) -> httpx.Response:
    payload: dict[str, Any] = {"query": op.query}
    if op.variables:
        payload["variables"] = op.variables
    if op.operation_name:
        payload["operationName"] = op.operation_name
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    return await http.post("/graphql", json=payload, headers=headers)


async def collect_cursors(http: httpx.AsyncClient, token: str) -> list[str]:
    cursors = []
    for field in ("NAME", "LAST_SYNCED_AT", "COST", "FIRST_SEEN_AT"):
        for direction in ("ASC", "DESC"):
            query = (
                f"{{ resources(first: 4, orderBy: {{field: {field}, direction: {direction}}}) "
                "{ edges { cursor } } }"
            )
            response = await post(http, Operation(query), token)
            cursors += [edge["cursor"] for edge in response.json()["data"]["resources"]["edges"]]
    return cursors


def _same(fast: httpx.Response, regular: httpx.Response, op: Operation) -> None:
    context = f"{op.query}\nvariables={op.variables}"
    assert fast.status_code == regular.status_code, context
    assert fast.headers["content-type"] == regular.headers["content-type"], context
    assert fast.content == regular.content, context


async def test_fast_path_and_graphql_core_answer_the_same_bytes(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given an inventory with every kind of value, and a corpus of operations over it
    owner, credential_ids = await seed_inventory(runtime)
    token = access_token(runtime, owner)
    spy = Spy(graphql_view(app))
    spy.enabled(False)
    cursors = await collect_cursors(http, token)
    rnd = random.Random(SEED)
    corpus = [operation(rnd, cursors, credential_ids) for _ in range(OPERATIONS)]
    for op in corpus:
        # when each runs with the fast path and without it
        spy.enabled(True)
        fast = await post(http, op, token)
        spy.enabled(False)
        regular = await post(http, op, token)
        # then the responses are the same bytes
        _same(fast, regular, op)
    # and the fast path served a good share of them itself (the rest it handed over)
    served = sum(spy.served)
    assert len(spy.served) == OPERATIONS
    assert served >= OPERATIONS // 4, f"the fast path served only {served} of {OPERATIONS}"
    assert served < OPERATIONS, "nothing was handed over: the corpus lacks unsupported cases"


@pytest.mark.parametrize(
    "query",
    [
        "{ resources(first: 2) { edges { node { id name } } } }",
        "{ resources(first: 500) { edges { node { id } } } }",
        '{ resources(after: "forged") { edges { node { id } } } }',
        "{ resources(first: 2) { edges { node { id credential { name } } } } }",
        "{ resources(first: 2) { edges { node { nope } } } }",
        "{ resources(first: 2) { edges { node { id } } }",
        '{ resources(filter: {search: "\\u0000"}) { totalCount } }',
    ],
)
async def test_an_anonymous_caller_gets_the_regular_answer(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime, query: str
) -> None:
    # given no token at all
    spy = Spy(graphql_view(app))
    op = Operation(query)
    headers = {"content-type": "application/json"}
    # when the operation is sent with and without the fast path
    fast = await http.post("/graphql", json={"query": op.query}, headers=headers)
    spy.enabled(False)
    regular = await http.post("/graphql", json={"query": op.query}, headers=headers)
    # then the fast path served nothing and the answers are the same
    assert spy.served == [False]
    _same(fast, regular, op)


async def test_with_cost_tracking_off_both_paths_hide_the_same_fields(
    database_url: str, tmp_path: Any
) -> None:
    # given a server with ENABLE_COST_TRACKING=false, in production mode
    settings = make_settings(
        database_url,
        tmp_path,
        enable_cost_tracking=False,
        environment="production",
        allowed_hosts=["testserver"],
    )
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            owner, credential_ids = await seed_inventory(runtime)
            token = access_token(runtime, owner)
            spy = Spy(graphql_view(app))
            rnd = random.Random(SEED + 1)
            for _ in range(40):
                op = operation(rnd, [], credential_ids)
                # when an operation runs with and without the fast path
                spy.enabled(True)
                fast = await post(http, op, token)
                spy.enabled(False)
                regular = await post(http, op, token)
                # then the answers are the same bytes
                _same(fast, regular, op)
            assert any(spy.served)
    finally:
        await runtime.close()
