"""Fault matrix (a): PostgreSQL restarts while the app serves.

A private PostgreSQL 15 cluster on a free port in a temporary directory (never the shared
server), migrated as its owner, the app connected as the least-privilege role. During the outage
every request gets a typed 503 (`SERVICE_UNAVAILABLE`, Retry-After), never a bare 500; after the
server returns, the same app serves again without a restart, and nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from db.migrate import upgrade_async
from graph.app import create_app
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.credential_data import aws_secret
from tests.databases import async_url
from tests.graphql_client import GraphQLClient, GraphQLResponse
from tests.private_servers import private_postgres
from tests.sessions import signed_up_session

ADD = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id name } userErrors { code } }
}
"""
CREDENTIALS = "{ credentials { id name } }"


def add_input(name: str) -> dict[str, Any]:
    return {"input": {"name": name, "defaultRegion": "us-east-1", "secret": aws_secret().input}}


def assert_unavailable(response: GraphQLResponse) -> None:
    assert response.status_code == 503, response.body
    assert response.headers["retry-after"]
    assert response.error_codes and set(response.error_codes) == {"SERVICE_UNAVAILABLE"}


async def test_the_app_serves_through_a_postgres_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with private_postgres() as server:
        # Given a migrated database on a private cluster and the app on it as the app role
        admin = await asyncpg.connect(server.dsn())
        await admin.execute("CREATE DATABASE stratograph")
        await admin.close()
        await upgrade_async(async_url(server.dsn(), "stratograph"))
        url = async_url(server.dsn(role="stratograph_app"), "stratograph")
        app = create_app(make_settings(url, tmp_path))
        app.state.runtime.passwords = PasswordHasher.fast_for_tests()
        transport = httpx.ASGITransport(app=app, client=("198.51.100.8", 4000))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                gql = GraphQLClient(http)
                token = (await signed_up_session(gql, "pg-restart@example.com"))["accessToken"]
                before = (await gql(ADD, add_input("acknowledged"), token=token)).ok()
                assert before["addCredential"]["userErrors"] == []

                # When PostgreSQL stops
                server.stop()
                read = await gql(CREDENTIALS, token=token)
                write = await gql(ADD, add_input("refused"), token=token)
                anonymous = await gql(
                    'mutation { logIn(input: {email: "x@example.com", password: "P"}) '
                    "{ accessToken } }"
                )
                ready = await http.get("/readyz")

                # Then every request gets a typed 503, and the app says it is not ready
                assert_unavailable(read)
                assert_unavailable(write)
                assert_unavailable(anonymous)
                assert ready.status_code == 503
                assert not [r for r in caplog.records if r.exc_info], "no traceback per request"

                # When PostgreSQL is back
                server.start()
                deadline = time.monotonic() + 30
                while True:
                    after = await gql(CREDENTIALS, token=token)
                    if after.status_code == 200 and not after.errors:
                        break
                    assert after.status_code == 503, after.body  # retryable until it reconnects
                    assert time.monotonic() < deadline, "the app never reconnected"
                    await asyncio.sleep(0.2)

                # Then the same app serves again; the acknowledged write is there, the refused
                # one is not, and writes work again
                names = [c["name"] for c in after.data["credentials"]]
                assert names == ["acknowledged"]
                again = (await gql(ADD, add_input("after"), token=token)).ok()
                assert again["addCredential"]["userErrors"] == []
                assert (await http.get("/readyz")).status_code == 200
        finally:
            await app.state.runtime.close()
