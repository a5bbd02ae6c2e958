"""/metrics is not public in production (issue 12 item 12).

Production serves no /metrics on the main listener, whatever the Host or scheme; METRICS_PORT
serves them on a listener of their own; development keeps them beside /graphql unless a
metrics port is set.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from graph.app import create_app
from tests.cluster import free_port
from tests.conftest import make_settings
from tests.hardening_support import client_for

PRODUCTION = {"environment": "production", "allowed_hosts": ["api.example.com"]}


async def test_production_serves_no_metrics_on_the_main_listener(
    database_url: str, tmp_path: Path
) -> None:
    # Given a production app without METRICS_PORT
    app = create_app(make_settings(database_url, tmp_path, **PRODUCTION))
    try:
        async with client_for(app, base_url="https://api.example.com") as http:
            # When anyone asks for /metrics, by the served name or by address
            by_name = await http.get("/metrics")
            by_address = await http.get("/metrics", headers={"host": "10.1.2.3:8000"})
    finally:
        await app.state.runtime.close()
    # Then there is nothing there
    assert by_name.status_code == 404
    assert by_address.status_code == 404


async def test_the_metrics_listener_serves_them(database_url: str, tmp_path: Path) -> None:
    # Given a production app with a metrics port
    port = free_port()
    settings = make_settings(database_url, tmp_path, **PRODUCTION, metrics_port=port)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            async with client_for(app, base_url="https://api.example.com") as http:
                await http.get("/healthz")
                main = await http.get("/metrics")
            # When Prometheus scrapes the metrics port
            async with httpx.AsyncClient() as scraper:
                scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        # Then the metrics are there, and only there
        assert scraped.status_code == 200
        assert "stratograph_http_requests_total" in scraped.text
        assert main.status_code == 404
        # And the listener is gone with the app
        async with httpx.AsyncClient() as scraper:
            try:
                await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                closed = False
            except httpx.TransportError:
                closed = True
        assert closed
    finally:
        await app.state.runtime.close()


async def test_development_keeps_metrics_beside_graphql(database_url: str, tmp_path: Path) -> None:
    # Given a development app without METRICS_PORT, when /metrics is asked for
    app = create_app(make_settings(database_url, tmp_path))
    try:
        async with client_for(app) as http:
            response = await http.get("/metrics")
    finally:
        await app.state.runtime.close()
    # Then it answers there
    assert response.status_code == 200
    assert "stratograph_http_requests_total" in response.text
