"""`startSync` over HTTP and the `syncJob` subscription over a real WebSocket
(graphql-transport-ws), with a scripted inventory behind the server's own runner."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from starlette.applications import Starlette

from db.enums import SyncJobStatus
from graph.app import create_app
from graph.node import to_global_id
from graph.runtime import Runtime
from providers.base import Scope
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.live_server import live_server
from tests.sync_support import ScriptedInventory, create_credential, job, record

START_SYNC = """
mutation Start($id: ID) {
  startSync(input: {credentialId: $id}) {
    jobs { id status trigger progress added updated removed errors { scope code message } }
    userErrors { field code message }
  }
}
"""
FOLLOW = """
subscription Follow($id: ID!) {
  syncJob(id: $id) { id status progress added updated removed errors { scope code } }
}
"""
EAST = Scope("us-east-1", "AWS::EC2::Instance")
WEST = Scope("us-west-2", "AWS::EC2::Instance")
WAIT = 10.0


def scripted(runtime: Runtime, inventories: dict[uuid.UUID, ScriptedInventory]) -> None:
    """Point the server's sync engine at scripted inventories instead of real clouds."""
    runtime.sync.engine.factory = lambda row: inventories[row.id]


async def test_start_sync_queues_one_job_per_own_credential(
    runtime: Runtime, gql: GraphQLClient
) -> None:
    # given a user with two credentials, and another user's credential
    user, other = await create_user(runtime), await create_user(runtime)
    mine = [await create_credential(runtime.database, user) for _ in range(2)]
    theirs = await create_credential(runtime.database, other)
    token = access_token(runtime, user)

    # when one credential is synced, then all of them
    one = await gql(START_SYNC, {"id": to_global_id("CloudCredential", mine[0].id)}, token=token)
    every = await gql(START_SYNC, {}, token=token)

    # then the first start queued a MANUAL job, and the second returned it plus a new one
    (queued,) = one.ok()["startSync"]["jobs"]
    assert queued["status"] == "QUEUED" and queued["trigger"] == "MANUAL"
    assert queued["progress"] == 0 and queued["errors"] == []
    jobs = every.ok()["startSync"]["jobs"]
    assert len(jobs) == 2 and jobs[0]["id"] == queued["id"]
    assert every.ok()["startSync"]["userErrors"] == []
    # and the other user's credential was never touched
    rows = [await job(runtime.database, _local(j["id"])) for j in jobs]
    assert {row.credential_id for row in rows} == {c.id for c in mine}
    assert theirs.id not in {row.credential_id for row in rows}


def websocket(address: str, http: httpx.AsyncClient) -> AbstractAsyncContextManager[Any]:
    """A graphql-transport-ws connection to the served app."""
    connection: AbstractAsyncContextManager[Any] = aconnect_ws(
        f"ws://{address}/graphql", http, subprotocols=["graphql-transport-ws"]
    )
    return connection


def _local(global_id: str) -> uuid.UUID:
    from graph.node import from_global_id

    return from_global_id(global_id, "SyncJob")[1]


@pytest.mark.parametrize(
    ("make_id", "code"),
    [
        (lambda other: to_global_id("CloudCredential", other), "NOT_FOUND"),
        (lambda other: to_global_id("CloudCredential", uuid.uuid4()), "NOT_FOUND"),
        (lambda other: "not-an-id", "INVALID"),
        (lambda other: to_global_id("User", other), "INVALID"),
    ],
)
async def test_start_sync_refuses_what_is_not_yours(
    runtime: Runtime, gql: GraphQLClient, make_id: Any, code: str
) -> None:
    # given another user's credential
    user, other = await create_user(runtime), await create_user(runtime)
    theirs = await create_credential(runtime.database, other)

    # when the user tries to sync it (or something that is no credential ID)
    result = await gql(START_SYNC, {"id": make_id(theirs.id)}, token=access_token(runtime, user))

    # then a userError answers, no job is made, and nothing tells whether it exists
    payload = result.ok()["startSync"]
    assert payload["jobs"] == []
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        (code, ["input", "credentialId"])
    ]


async def test_start_sync_requires_authentication(gql: GraphQLClient) -> None:
    # when an anonymous caller starts a sync
    result = await gql(START_SYNC, {})

    # then it is refused with UNAUTHENTICATED
    assert result.error_codes == ["UNAUTHENTICATED"]


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Starlette, str]]:
    """The app served by uvicorn, its lifespan running the in-process sync runner."""
    app = create_app(make_settings(database_url, tmp_path, sync_interval_minutes=0))
    async with live_server(app) as address:
        yield app, address


async def _init(ws: Any, token: str | None) -> dict[str, Any]:
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await ws.send_json({"type": "connection_init", "payload": payload})
    return await _receive(ws)


async def _receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), WAIT)
    return message


async def test_subscription_follows_a_sync_to_its_end(
    served: tuple[Starlette, str],
) -> None:
    # given a served app whose credential lists two scopes, each held until released
    app, address = served
    runtime: Runtime = app.state.runtime
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory(
        {EAST: [record("i-east", EAST)], WEST: [record("i-west", WEST), record("i-w2", WEST)]}
    )
    inventory.gates = {EAST: asyncio.Event(), WEST: asyncio.Event()}
    scripted(runtime, {credential.id: inventory})
    token = access_token(runtime, user)

    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        # when the user starts a sync and subscribes to its job
        started = await GraphQLClient(http)(
            START_SYNC, {"id": to_global_id("CloudCredential", credential.id)}, token=token
        )
        job_id = started.ok()["startSync"]["jobs"][0]["id"]
        await asyncio.wait_for(inventory.started[EAST].wait(), WAIT)
        async with websocket(address, http) as ws:
            assert (await _init(ws, token))["type"] == "connection_ack"
            await ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": FOLLOW, "variables": {"id": job_id}},
                }
            )
            states = [(await _receive(ws))["payload"]["data"]["syncJob"]]
            # and the listings complete one after the other
            inventory.gates[EAST].set()
            states.append((await _receive(ws))["payload"]["data"]["syncJob"])
            inventory.gates[WEST].set()
            while states[-1]["status"] == "RUNNING":
                states.append((await _receive(ws))["payload"]["data"]["syncJob"])
            completion = await _receive(ws)

    # then each progress change was pushed, ending with the final state and a `complete`
    assert states[0]["status"] == "RUNNING" and states[0]["progress"] == 0
    assert states[1]["progress"] == 0.5 and states[1]["added"] == 1
    assert states[-1]["status"] == "SUCCEEDED"
    assert (states[-1]["progress"], states[-1]["added"]) == (1, 3)
    assert all(s["id"] == job_id for s in states)
    assert completion == {"id": "1", "type": "complete"}
    row = await job(runtime.database, _local(job_id))
    assert row.status == SyncJobStatus.SUCCEEDED


async def test_subscription_to_another_users_job_is_an_error(
    served: tuple[Starlette, str],
) -> None:
    # given another user's job
    app, address = served
    runtime: Runtime = app.state.runtime
    user, other = await create_user(runtime), await create_user(runtime)
    theirs = await create_credential(runtime.database, other)
    scripted(runtime, {theirs.id: ScriptedInventory({EAST: []})})
    (their_job,) = await runtime.sync.start([theirs.id])

    async with (
        httpx.AsyncClient(base_url=f"http://{address}") as http,
        websocket(address, http) as ws,
    ):
        assert (await _init(ws, access_token(runtime, user)))["type"] == "connection_ack"
        # when the user subscribes to it, and to a job that does not exist
        answers = []
        for n, local in enumerate((their_job.id, uuid.uuid4())):
            await ws.send_json(
                {
                    "id": str(n),
                    "type": "subscribe",
                    "payload": {
                        "query": FOLLOW,
                        "variables": {"id": to_global_id("SyncJob", local)},
                    },
                }
            )
            answers.append(await _receive(ws))
            assert await _receive(ws) == {"id": str(n), "type": "complete"}

    # then both get the same error and no data, revealing nothing about the other user's job
    assert [a["type"] for a in answers] == ["next", "next"]
    assert [a["payload"]["data"] for a in answers] == [None, None]
    errors = [a["payload"]["errors"] for a in answers]
    assert len(errors[0]) == 1 and errors[0][0]["message"] == errors[1][0]["message"]
    assert errors[0][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "RUNNING" not in str(answers) and "QUEUED" not in str(answers)


async def test_subscription_requires_authentication(served: tuple[Starlette, str]) -> None:
    # given the served app
    _, address = served

    # when a WebSocket client connects without a token
    async with (
        httpx.AsyncClient(base_url=f"http://{address}") as http,
        websocket(address, http) as ws,
    ):
        await ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(Exception) as closed:
            await _receive(ws)

    # then the connection is closed (4403 Forbidden) instead of acknowledged
    assert "4403" in repr(closed.value) or "Forbidden" in repr(closed.value)
