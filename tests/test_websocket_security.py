"""WebSocket: origin allow-list, graphql-transport-ws only, authentication, subscription cap.

Real connections to a real uvicorn server on an ephemeral port.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, aconnect_ws

from tests.factories import access_token, create_user
from tests.hardening_support import live_server, small_app

PROTOCOL = "graphql-transport-ws"
TICKS = "subscription { ticks }"
SUBSCRIPTION_CAP = 10


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The small app served for real; yields its address and a valid access token."""
    app = small_app(database_url, tmp_path, rate_limit_default="10000/minute")
    runtime = app.state.runtime
    user = await create_user(runtime)
    try:
        async with live_server(app) as address:
            yield address, access_token(runtime, user)
    finally:
        await runtime.close()


def connect(
    address: str, http: httpx.AsyncClient, protocol: str = PROTOCOL, **options: Any
) -> AbstractAsyncContextManager[Any]:
    connection: AbstractAsyncContextManager[Any] = aconnect_ws(
        f"ws://{address}/graphql", http, subprotocols=[protocol], **options
    )
    return connection


async def receive(ws: Any) -> dict[str, Any]:
    """The next message, whether the server frames JSON as text or as bytes."""
    event = await ws.receive(timeout=5)
    message: dict[str, Any] = json.loads(event.data)
    return message


async def init(ws: Any, token: str | None) -> dict[str, Any]:
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await ws.send_text(json.dumps({"type": "connection_init", "payload": payload}))
    return await receive(ws)


async def test_foreign_origin_is_refused_at_the_handshake(served: tuple[str, str]) -> None:
    address, _ = served
    async with httpx.AsyncClient() as http:
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with connect(address, http, headers={"origin": "https://evil.example"}):
                pass  # pragma: no cover - the handshake must fail
    assert refused.value.response.status_code == 403


async def test_listed_origin_connects_and_authenticates(served: tuple[str, str]) -> None:
    address, token = served
    async with (
        httpx.AsyncClient() as http,
        connect(address, http, headers={"origin": "http://localhost:5173"}) as ws,
    ):
        assert (await init(ws, token))["type"] == "connection_ack"
        await ws.send_text(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": TICKS}})
        )
        assert await receive(ws) == {"id": "1", "type": "next", "payload": {"data": {"ticks": 0}}}


async def test_only_graphql_transport_ws_is_spoken(served: tuple[str, str]) -> None:
    address, _ = served
    async with (
        httpx.AsyncClient() as http,
        connect(address, http, protocol="graphql-ws") as ws,
    ):
        with pytest.raises(WebSocketDisconnect) as closed:
            await receive(ws)
    assert closed.value.code == 4406


async def test_connection_init_without_a_valid_token_is_refused(served: tuple[str, str]) -> None:
    address, _ = served
    for token in (None, "forged.token.value"):
        async with (
            httpx.AsyncClient() as http,
            connect(address, http) as ws,
        ):
            with pytest.raises(WebSocketDisconnect) as closed:
                await init(ws, token)
        assert closed.value.code == 4403


async def test_subscriptions_per_connection_are_capped(served: tuple[str, str]) -> None:
    address, token = served
    async with (
        httpx.AsyncClient() as http,
        connect(address, http) as ws,
    ):
        assert (await init(ws, token))["type"] == "connection_ack"
        # when the client opens one subscription more than the cap
        for n in range(SUBSCRIPTION_CAP + 1):
            message = {"id": str(n), "type": "subscribe", "payload": {"query": TICKS}}
            await ws.send_text(json.dumps(message))
        answers = [await receive(ws) for _ in range(SUBSCRIPTION_CAP + 1)]
        # then the first ten run and the eleventh is refused
        started = {a["id"] for a in answers if a["type"] == "next"}
        refused = [a for a in answers if a["type"] == "error"]
        assert started == {str(n) for n in range(SUBSCRIPTION_CAP)}
        assert refused == [
            {
                "id": str(SUBSCRIPTION_CAP),
                "type": "error",
                "payload": [{"message": "Subscription limit reached"}],
            }
        ]
        # and completing one makes room again
        await ws.send_text(json.dumps({"id": "0", "type": "complete"}))
        again = {"id": "again", "type": "subscribe", "payload": {"query": TICKS}}
        await ws.send_text(json.dumps(again))
        assert (await receive(ws))["id"] == "again"


async def test_limits_apply_over_websocket_too(served: tuple[str, str]) -> None:
    address, token = served
    deep = "subscription { ticks " + "@include(if: true) " * 60 + "}"
    async with (
        httpx.AsyncClient() as http,
        connect(address, http) as ws,
    ):
        assert (await init(ws, token))["type"] == "connection_ack"
        await ws.send_text(json.dumps({"id": "x", "type": "subscribe", "payload": {"query": deep}}))
        answer = await receive(ws)
    assert answer["type"] == "error"
    assert "QUERY_TOO_COMPLEX" in json.dumps(answer)


async def test_rate_limits_apply_over_websocket(database_url: str, tmp_path: Path) -> None:
    # given a default limit of 2 per minute
    app = small_app(database_url, tmp_path, rate_limit_default="2/minute")
    runtime = app.state.runtime
    token = access_token(runtime, await create_user(runtime))
    try:
        async with (
            live_server(app) as address,
            httpx.AsyncClient() as http,
            connect(address, http) as ws,
        ):
            assert (await init(ws, token))["type"] == "connection_ack"
            # when a third operation is started within the minute
            answers = []
            for n in range(3):
                message = {"id": str(n), "type": "subscribe", "payload": {"query": TICKS}}
                await ws.send_text(json.dumps(message))
                answers.append(await receive(ws))
    finally:
        await runtime.close()
    # then it is refused with RATE_LIMITED and a retry hint
    assert [a["type"] for a in answers[:2]] == ["next", "next"]
    assert answers[2]["id"] == "2" and answers[2]["type"] in ("error", "next")
    assert "RATE_LIMITED" in json.dumps(answers[2])
    assert "retryAfter" in json.dumps(answers[2])
