"""Query limits: depth, aliases, tokens, directives, page sizes and the node budget."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from graph.hardening.cost import MAX_NODES
from graph.hardening.rules import MAX_ALIASES, MAX_DEPTH, MAX_DIRECTIVES, MAX_TOKENS
from tests.graphql_client import GraphQLClient
from tests.hardening_support import client_for, codes, post, small_app


def nested_parents(levels: int) -> str:
    """`{ item { parent { parent … { id } } } }` with `levels` field levels in all."""
    return "{ item { " + "parent { " * (levels - 2) + "id" + " }" * (levels - 2) + " } }"


DEEP_ENOUGH = nested_parents(MAX_DEPTH)
TOO_DEEP = nested_parents(MAX_DEPTH + 1)
RELAY_SHAPED = "{ items(first: 5) { edges { node { parent { parent { siblings { id } } } } } } }"
FRAGMENT_CYCLE = """
query { item { ...A } }
fragment A on Item { parent { ...B } }
fragment B on Item { parent { ...A } }
"""
SELF_CYCLE = "query { item { ...A } } fragment A on Item { id ...A }"
# Each fragment spreads the next twice: expanded naively this is 2^40 selections.
FRAGMENT_BOMB = (
    "query { item { ...F0 } }\n"
    + "\n".join(
        f"fragment F{i} on Item {{ a{i}: parent {{ ...F{i + 1} ...F{i + 1} }} }}" for i in range(40)
    )
    + "\nfragment F40 on Item { id }"
)
NESTED_PAGES = "{ items(first: 100) { edges { node { children(first: 100) { totalCount } } } } }"
PAGE = "query Page($n: Int) { items(first: $n) { totalCount } }"


@pytest.fixture
async def small(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = small_app(database_url, tmp_path, rate_limit_default="10000/minute")
    async with client_for(app) as client:
        yield client


async def test_depth_limit_counts_field_levels(small: httpx.AsyncClient) -> None:
    # when a query is exactly at the limit, and one level beyond
    at_limit = await post(small, DEEP_ENOUGH)
    beyond = await post(small, TOO_DEEP)
    # then the first runs and the second is refused before execution, with the numbers
    assert "errors" not in at_limit.json()
    assert beyond.status_code == 200 and "data" not in beyond.json()
    error = beyond.json()["errors"][0]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "depth": MAX_DEPTH + 1,
        "maxDepth": MAX_DEPTH,
    }


async def test_a_relay_shaped_query_fits(small: httpx.AsyncClient) -> None:
    response = await post(small, RELAY_SHAPED)
    assert "errors" not in response.json()
    assert len(response.json()["data"]["items"]["edges"]) == 5


async def test_alias_limit(small: httpx.AsyncClient) -> None:
    fits = "{ " + " ".join(f"a{i}: dashboard" for i in range(MAX_ALIASES)) + " }"
    bomb = "{ " + " ".join(f"a{i}: dashboard" for i in range(MAX_ALIASES + 1)) + " }"
    assert "errors" not in (await post(small, fits)).json()
    refused = await post(small, bomb)
    assert codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert refused.json()["errors"][0]["extensions"]["aliases"] == MAX_ALIASES + 1


async def test_token_limit_stops_parsing(small: httpx.AsyncClient) -> None:
    # a flood of __typename selections: small per token, huge in number
    query = "{ " + "__typename " * (MAX_TOKENS + 10) + "}"
    response = await post(small, query)
    assert codes(response) == ["QUERY_TOO_COMPLEX"]
    assert response.json()["errors"][0]["extensions"]["maxTokens"] == MAX_TOKENS


async def test_directive_limit(small: httpx.AsyncClient) -> None:
    # (one directive per selection: repeating one on a field is a separate validation error)
    selections = " ".join(["id @include(if: true)"] * (MAX_DIRECTIVES + 1))
    response = await post(small, f"{{ item {{ {selections} }} }}")
    assert codes(response) == ["QUERY_TOO_COMPLEX"]
    assert response.json()["errors"][0]["extensions"]["directives"] == MAX_DIRECTIVES + 1


@pytest.mark.parametrize("query", [FRAGMENT_CYCLE, SELF_CYCLE])
async def test_fragment_cycles_are_rejected_not_followed(
    small: httpx.AsyncClient, query: str
) -> None:
    started = time.perf_counter()
    response = await post(small, query)
    assert response.status_code == 200 and "data" not in response.json()
    assert any("Cannot spread fragment" in e["message"] for e in response.json()["errors"])
    assert time.perf_counter() - started < 5


async def test_fragment_fan_out_is_measured_without_expanding(small: httpx.AsyncClient) -> None:
    # when fragments fan out exponentially
    started = time.perf_counter()
    response = await post(small, FRAGMENT_BOMB)
    # then the answer is a refusal (too deep and too many aliases), quickly
    assert "QUERY_TOO_COMPLEX" in codes(response)
    assert time.perf_counter() - started < 5


async def test_nested_pages_over_the_node_budget_are_refused(small: httpx.AsyncClient) -> None:
    response = await post(small, NESTED_PAGES)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 100 + 100 * 100,
        "maxCost": MAX_NODES,
    }


async def test_cost_uses_variables_and_the_default_page(small: httpx.AsyncClient) -> None:
    # default page of 20 under a page of 100 fits; 100 under 100 does not
    fits = "{ items(first: 100) { edges { node { children { totalCount } } } } }"
    assert "errors" not in (await post(small, fits)).json()
    nested = (
        "query N($n: Int) { items(first: 100) { edges { node { "
        "children(first: $n) { totalCount } } } } }"
    )
    refused = await post(small, nested, variables={"n": 100})
    assert refused.json()["errors"][0]["extensions"]["cost"] == 10_100


@pytest.mark.parametrize("size", [0, -1, 101, 10**9, "ten", 2.5, True])
async def test_page_sizes_outside_one_to_a_hundred_are_bad_requests(
    small: httpx.AsyncClient, size: object
) -> None:
    response = await post(small, PAGE, variables={"n": size})
    assert response.status_code == 200
    assert "data" not in response.json()
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] in {
        "BAD_REQUEST",
        None,
    }  # None: graphql-core's own type check
    assert "Traceback" not in response.text


async def test_a_variable_default_cannot_smuggle_a_page_size(small: httpx.AsyncClient) -> None:
    response = await post(small, "query P($n: Int = 500) { items(first: $n) { totalCount } }")
    assert codes(response) == ["BAD_REQUEST"]


async def test_literal_page_size_over_a_hundred(small: httpx.AsyncClient) -> None:
    response = await post(small, "{ items(last: 500) { totalCount } }")
    assert codes(response) == ["BAD_REQUEST"]
    assert "between 1 and 100" in response.json()["errors"][0]["message"]


async def test_real_schema_refuses_alias_bombs(gql: GraphQLClient) -> None:
    bomb = "{ " + " ".join(f"a{i}: __typename" for i in range(200)) + " }"
    response = await gql(bomb)
    assert response.error_codes == ["QUERY_TOO_COMPLEX"]


async def test_graphiql_introspection_fits_the_limits_in_development(gql: GraphQLClient) -> None:
    from graphql import get_introspection_query

    response = await gql(get_introspection_query(descriptions=True))
    assert response.ok()["__schema"]["queryType"]["name"] == "Query"


def test_plain_lists_count_their_limit_argument() -> None:
    # given a list field with a `limit` argument, in the product schema's style
    import strawberry
    from graphql import parse

    from graph.hardening.cost import LIST_ESTIMATE, operation_cost

    @strawberry.type
    class Q:
        @strawberry.field
        def recent(self, limit: int = 30) -> list[int]:
            return list(range(limit))

        @strawberry.field
        def plain(self) -> list[int]:
            return []

    schema = strawberry.Schema(query=Q)._schema
    for query, expected in [
        ("{ recent }", 30),  # the schema's default
        ("{ plain }", LIST_ESTIMATE),
        ("{ recent(limit: 5000) }", 5000),
        ("query R($n: Int) { recent(limit: $n) }", 700),
    ]:
        document = parse(query)
        operation = document.definitions[0]
        cost = operation_cost(schema, document, operation, {"n": 700})  # type: ignore[arg-type]
        assert cost == expected, query


async def test_page_variables_that_are_not_sent_mean_the_default(small: httpx.AsyncClient) -> None:
    # declared but omitted variables (as generated clients send them) are not a page size
    query = "query P($first: Int, $last: Int) { items(first: $first, last: $last) { totalCount } }"
    for variables in ({}, {"first": None}, {"last": 7}):
        response = await post(small, query, variables=variables)
        assert "errors" not in response.json(), variables
    assert (await post(small, query, variables={})).json()["data"]["items"]["totalCount"] == 20


def test_resource_relations_count_their_limit_in_the_cost() -> None:
    # given the product schema
    from graphql import parse

    from graph.hardening.cost import operation_cost
    from graph.schema import schema

    def cost(query: str) -> int:
        document = parse(query)
        return operation_cost(schema._schema, document, document.definitions[0], {})  # type: ignore[arg-type]

    # then a page of 100 with their relations costs the page plus 50 relations per resource
    page = "{ resources(first: 100) { edges { node { relations { resource { id } } } } } }"
    assert cost(page) == 100 + 100 * 50
    # and relations of relations are refused long before they reach the database
    nested = (
        "{ resources(first: 100) { edges { node { relations(limit: 100) { resource {"
        " relations(limit: 100) { type } } } } } } }"
    )
    assert cost(nested) > MAX_NODES


async def test_nested_relations_are_refused_as_too_complex(gql: GraphQLClient) -> None:
    query = (
        "{ resources(first: 100) { edges { node { relations(limit: 100) { resource {"
        " relations(limit: 100) { type } } } } } } }"
    )
    answer = await gql(query)
    assert answer.error_codes == ["QUERY_TOO_COMPLEX"]


def test_findings_count_in_the_cost() -> None:
    # given the product schema
    from graphql import parse

    from graph.hardening.cost import LIST_ESTIMATE, operation_cost
    from graph.schema import schema

    def cost(query: str) -> int:
        document = parse(query)
        return operation_cost(schema._schema, document, document.definitions[0], {})  # type: ignore[arg-type]

    # then a page of findings costs its page size, and each resource's findings count as a list
    assert cost("{ findings(first: 100) { edges { node { id } } } }") == 100
    page = "{ resources(first: 100) { edges { node { findings { id } } } } }"
    assert cost(page) == 100 + 100 * LIST_ESTIMATE
    # and findings of resources of findings of resources are refused before any SQL
    nested = (
        "{ findings(first: 100) { edges { node { resource { findings { resource {"
        " findings { resource { relations(limit: 100) { type } } } } } } } } } }"
    )
    assert cost(nested) > MAX_NODES
