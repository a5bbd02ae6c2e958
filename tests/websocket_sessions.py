"""A graphql-transport-ws client over the in-process ASGI transport, for session tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette
from wsproto.utilities import LocalProtocolError

WAIT = 10.0


@dataclass
class Closed:
    code: int


@asynccontextmanager
async def open_socket(
    app: Starlette, token: str, base_url: str = "http://testserver"
) -> AsyncIterator[Any]:
    """A socket past `connection_ack`, authenticated with `token` (`https://` in production)."""
    transport = ASGIWebSocketTransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=base_url) as http,
        aconnect_ws("/graphql", http, subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[var-annotated]
    ):
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        ack = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert ack["type"] == "connection_ack", ack
        yield ws


async def receive(ws: Any, within: float = WAIT) -> dict[str, Any] | Closed:
    """The next message, or how the server closed the socket."""
    try:
        message: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), within)
    except WebSocketDisconnect as closed:
        return Closed(closed.code)
    return message


async def subscribe(
    ws: Any, operation_id: str, query: str, variables: dict[str, Any] | None = None
) -> bool:
    """Send a `subscribe`; False when the server had already closed the socket."""
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    try:
        await ws.send_json({"id": operation_id, "type": "subscribe", "payload": payload})
    except (WebSocketDisconnect, LocalProtocolError):
        return False
    return True


async def run(
    ws: Any, operation_id: str, query: str, variables: dict[str, Any] | None = None
) -> list[dict[str, Any] | Closed]:
    """Everything the server answers to one operation, up to its complete/error or the close."""
    answers: list[dict[str, Any] | Closed] = []
    if not await subscribe(ws, operation_id, query, variables):
        return [Closed(0)]
    while True:
        message = await receive(ws)
        answers.append(message)
        if isinstance(message, Closed):
            return answers
        if message.get("id") == operation_id and message["type"] in ("complete", "error"):
            return answers


def data_of(answers: list[dict[str, Any] | Closed]) -> list[Any]:
    """The `data` of every `next` answer that carried any."""
    return [
        a["payload"].get("data")
        for a in answers
        if isinstance(a, dict) and a.get("type") == "next" and a["payload"].get("data")
    ]


def refused(answers: list[dict[str, Any] | Closed]) -> bool:
    """Refused like a dead session: an UNAUTHENTICATED error or a 4403 close, and no data."""
    if data_of(answers):
        return False
    for answer in answers:
        if isinstance(answer, Closed):
            return answer.code in (4403, 0)
        if answer.get("type") == "error":
            codes = [(e.get("extensions") or {}).get("code") for e in answer["payload"]]
            return codes == ["UNAUTHENTICATED"]
    return False


async def closed_with(ws: Any, within: float = WAIT) -> Closed | None:
    """Drain messages until the server closes the socket (None if it stays open)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (left := deadline - loop.time()) > 0:
        try:
            message = await receive(ws, left)
        except TimeoutError:
            return None
        if isinstance(message, Closed):
            return message
    return None
