"""Health, readiness and metrics endpoints."""

from __future__ import annotations

import httpx


async def test_healthz_answers_while_process_is_alive(http: httpx.AsyncClient) -> None:
    # when
    response = await http.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_a_reachable_database(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_readyz_reports_an_unreachable_database(
    http: httpx.AsyncClient, runtime: object
) -> None:
    # given a database engine that can no longer connect
    from db.engine import Database, create_engine

    runtime.database = Database(  # type: ignore[attr-defined]
        create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    )
    # when
    response = await http.get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert "127.0.0.1" not in response.text


async def test_metrics_are_prometheus_text(http: httpx.AsyncClient) -> None:
    await http.get("/healthz")
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'stratograph_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        response.text
    )
