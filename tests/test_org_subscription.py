"""An organization-wide job over the WebSocket transport: `syncJob` follows its parts to the one
final state, and another user asking for the accounts over the socket sees none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from starlette.applications import Starlette

from graph.app import create_app
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.live_server import live_server
from tests.org_support import ScriptedOrganization, account_scopes, member
from tests.sync_support import create_credential

START_SYNC = """
mutation Start($id: ID) {
  startSync(input: {credentialId: $id}) { jobs { id } userErrors { code } }
}
"""
FOLLOW = "subscription ($id: ID!) { syncJob(id: $id) { status progress added errors { scope } } }"
ACCOUNTS = "query { credentials { accounts { accountId status } } }"
WAIT = 30.0


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Starlette, str]]:
    app = create_app(make_settings(database_url, tmp_path, sync_interval_minutes=0))
    async with live_server(app) as address:
        yield app, address


def socket(address: str, http: httpx.AsyncClient) -> AbstractAsyncContextManager[Any]:
    connection: AbstractAsyncContextManager[Any] = aconnect_ws(
        f"ws://{address}/graphql", http, subprotocols=["graphql-transport-ws"]
    )
    return connection


async def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), WAIT)
    return message


async def connected(ws: Any, token: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await receive(ws))["type"] == "connection_ack"


async def test_the_subscription_follows_an_organizations_parts_to_the_end(
    served: tuple[Starlette, str],
) -> None:
    # given a served app whose credential covers two accounts, one of them held until released
    app, address = served
    runtime: Runtime = app.state.runtime
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = ScriptedOrganization(2)
    held = account_scopes(member(1))[0]
    organization.gates[held] = asyncio.Event()
    runtime.sync.engine.factory = lambda row: organization
    token = access_token(runtime, user)
    mallory = access_token(runtime, await create_user(runtime))

    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        # when the owner starts the sync and follows its job over the WebSocket
        started = await GraphQLClient(http)(
            START_SYNC, {"id": to_global_id("CloudCredential", credential.id)}, token=token
        )
        job_id = started.ok()["startSync"]["jobs"][0]["id"]
        await asyncio.wait_for(organization.started[held].wait(), WAIT)
        async with socket(address, http) as ws:
            await connected(ws, token)
            await ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": FOLLOW, "variables": {"id": job_id}},
                }
            )
            states = [(await receive(ws))["payload"]["data"]["syncJob"]]
            organization.gates[held].set()
            while states[-1]["status"] == "RUNNING":
                states.append((await receive(ws))["payload"]["data"]["syncJob"])
            assert await receive(ws) == {"id": "1", "type": "complete"}
        # and another user asks for the accounts over a socket of their own
        async with socket(address, http) as ws:
            await connected(ws, mallory)
            await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": ACCOUNTS}})
            theirs = (await receive(ws))["payload"]["data"]

    # then the one job's progress only grew, ending once, complete
    progress = [s["progress"] for s in states]
    assert progress == sorted(progress) and progress[-1] == 1
    assert states[-1] == {"status": "SUCCEEDED", "progress": 1, "added": 8, "errors": []}
    assert [s["status"] for s in states].count("SUCCEEDED") == 1
    # and the other user saw no account of it
    assert theirs == {"credentials": []}
