"""ENVIRONMENT=production: no introspection, no suggestions, masked internals, no traces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from graph.app import create_app
from tests.conftest import make_settings
from tests.hardening_support import client_for, post, small_app

PRODUCTION = {"environment": "production", "allowed_hosts": ["api.example.com"]}
BASE = "https://api.example.com"

# Each of these draws a "Did you mean …?" hint from graphql-core in development.
MISTAKES = [
    ("field", "{ dashbord }", None),
    ("argument", "{ items(frist: 2) { totalCount } }", None),
    ("enum literal", "{ paint(color: CRIMSOM) }", None),
    ("enum variable", "query P($c: Color!) { paint(color: $c) }", {"c": "COBALD"}),
    ("type", "query P($c: Colr!) { paint(color: $c) }", {"c": "COBALT"}),
    (
        "input field",
        'mutation { logIn(input: {emial: "a@b.c", password: "p"}) }',
        None,
    ),
    (
        "input field variable",
        "mutation L($i: LogInInput!) { logIn(input: $i) }",
        {"i": {"emial": "a@b.c", "password": "p"}},
    ),
]


@pytest.fixture
async def production(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(small_app(database_url, tmp_path, **PRODUCTION), base_url=BASE) as c:
        yield c


@pytest.fixture
async def development(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(small_app(database_url, tmp_path)) as c:
        yield c


@pytest.mark.parametrize(("kind", "query", "variables"), MISTAKES, ids=[m[0] for m in MISTAKES])
async def test_no_suggestions_in_production(
    production: httpx.AsyncClient,
    development: httpx.AsyncClient,
    kind: str,
    query: str,
    variables: dict[str, object] | None,
) -> None:
    # given the same mistake sent to a development and a production server
    dev = await post(development, query, variables=variables)
    prod = await post(production, query, variables=variables)
    # then development helps, production says what is wrong without hinting at names
    assert "Did you mean" in dev.text, kind
    assert prod.json()["errors"], kind
    assert "Did you mean" not in prod.text, kind
    assert prod.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { types { name } } }",
        '{ __type(name: "Query") { fields { name } } }',
        "query { item { id } __schema { queryType { name } } }",
    ],
)
async def test_no_introspection_in_production(
    production: httpx.AsyncClient, development: httpx.AsyncClient, query: str
) -> None:
    refused = await post(production, query)
    allowed = await post(development, query)
    assert "data" not in refused.json()
    assert "introspection" in refused.json()["errors"][0]["message"].lower()
    assert "errors" not in allowed.json()


async def test_typename_still_works_in_production(production: httpx.AsyncClient) -> None:
    response = await post(production, "{ item { __typename id } }")
    assert response.json() == {"data": {"item": {"__typename": "Item", "id": "1"}}}


async def test_internal_errors_are_masked_without_traces(production: httpx.AsyncClient) -> None:
    response = await post(production, "{ boom }")
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    for leak in ("secret detail", "/srv/app", "SELECT", "Traceback", "RuntimeError"):
        assert leak not in response.text


async def test_validation_messages_stay_useful(production: httpx.AsyncClient) -> None:
    response = await post(production, "{ dashbord }")
    assert response.json()["errors"][0]["message"] == (
        "Cannot query field 'dashbord' on type 'Query'."
    )


async def test_real_app_in_production(database_url: str, tmp_path: Path) -> None:
    # the product schema behind the same switches
    app = create_app(make_settings(database_url, tmp_path, **PRODUCTION))
    async with client_for(app, base_url=BASE) as client:
        introspection = await post(client, "{ __schema { types { name } } }")
        typo = await post(client, "{ mee { id } }")
        input_typo = await post(
            client,
            "mutation L($i: LogInInput!) { logIn(input: $i) { accessToken } }",
            variables={"i": {"emial": "a@example.com", "password": "x"}},
        )
        ide = await client.get("/graphql", headers={"accept": "text/html"})
    assert "data" not in introspection.json()
    assert "Did you mean" not in typo.text and typo.json()["errors"]
    assert "Did you mean" not in input_typo.text and input_typo.json()["errors"]
    assert "graphiql" not in ide.text.lower()
