"""Prometheus metrics: GraphQL operations by type, name and outcome; latency; DB pool gauges."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from graph.app import create_app
from tests.conftest import make_settings
from tests.graphql_client import GraphQLClient
from tests.sessions import LOG_IN

ME = "query Me { me { email } }"


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_operations_are_counted_by_type_name_and_outcome(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given the counters before
    before = await scrape(http)
    refused = {"operation_type": "query", "operation": "Me", "outcome": "UNAUTHENTICATED"}
    invalid = {"operation_type": "query", "operation": "anonymous"}
    # when an unauthenticated query, an invalid one and a typo'd one run
    await gql(ME)
    await gql(ME)
    await gql("query { nope }")
    after = await scrape(http)
    # then each is counted under its own labels, and timed
    total = "stratograph_graphql_operations_total"
    assert value(after, total, **refused) - value(before, total, **refused) == 2
    assert (
        value(after, total, **invalid, outcome="GRAPHQL_VALIDATION_FAILED")
        - value(before, total, **invalid, outcome="GRAPHQL_VALIDATION_FAILED")
        == 1
    )
    count = "stratograph_graphql_operation_duration_seconds_count"
    labels = {"operation_type": "query", "operation": "Me"}
    assert value(after, count, **labels) - value(before, count, **labels) == 2


async def test_database_pool_and_rate_limit_series_are_exposed(
    http: httpx.AsyncClient, backend: str
) -> None:
    # when the metrics are scraped
    samples = await scrape(http)
    names = {name for name, _ in samples}
    # then the connection pool is described, on either database
    assert value(samples, "stratograph_db_pool_size", pool="api") == 10
    assert ("stratograph_db_pool_checked_out", (("pool", "api"),)) in samples
    response = await http.get("/metrics")
    assert "stratograph_rate_limited_total" in response.text
    assert "stratograph_http_requests_total" in names


def test_client_chosen_operation_names_cannot_grow_the_registry_without_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given names already seen, up to the cap (in a set of this test's own)
    monkeypatch.setattr(metrics, "_seen_names", set())
    for n in range(metrics.MAX_OPERATION_NAMES):
        metrics.operation_label(f"Op{n}")
    # then a new name past the cap, or a strange one, is "other"; a known one stays itself
    assert metrics.operation_label("BrandNewName") == "other"
    assert metrics.operation_label("drop table; --") == "other"
    assert metrics.operation_label("Op3") == "Op3"
    assert metrics.operation_label(None) == "anonymous"


async def test_rate_limit_refusals_are_counted(database_url: str, tmp_path: Path) -> None:
    # given a server allowing two log-ins a minute
    app = create_app(make_settings(database_url, tmp_path, rate_limit_login="2/minute"))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 1234))
    counter = metrics.RATE_LIMITED.labels("logIn")
    before = counter._value.get()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql = GraphQLClient(http)
            # when four log-ins are attempted
            codes = [
                (
                    await gql(LOG_IN, {"input": {"email": "x@example.com", "password": "p"}})
                ).error_codes
                for _ in range(4)
            ]
    finally:
        await app.state.runtime.close()
    # then the two refusals are counted under the field that was refused
    assert codes[2:] == [["RATE_LIMITED"], ["RATE_LIMITED"]]
    assert counter._value.get() - before == 2
