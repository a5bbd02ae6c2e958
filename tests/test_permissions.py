"""Who is asking: bearer tokens over HTTP, `connection_init` over WebSockets, permission classes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import strawberry
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from db.enums import Role
from graph.context import CurrentUser
from graph.permissions import IsAdmin, IsAuthenticated
from graph.runtime import Runtime
from tests.factories import access_token, create_user

WS_ME = {"query": "query { me { email } }"}
ADMIN_SECRET = "query { adminSecret }"
MEMBER_SECRET = "query { memberSecret }"


def graphql_ws(http: httpx.AsyncClient) -> Any:
    """A graphql-transport-ws connection to /graphql (httpx-ws ships no type hints)."""
    return aconnect_ws("/graphql", http, subprotocols=["graphql-transport-ws"])


async def receive_message(ws: Any) -> Any:
    """The next protocol message (text or binary frame: the frame type is not tested here)."""
    event = await ws.receive()
    return json.loads(event.data)


async def test_websocket_authenticates_in_connection_init(app: Starlette, runtime: Runtime) -> None:
    # given
    user = await create_user(runtime, "socket@example.com")
    token = access_token(runtime, user)
    transport = ASGIWebSocketTransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        graphql_ws(http) as ws,
    ):
        # when the connection_init payload carries the bearer token
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        ack = await receive_message(ws)
        await ws.send_json({"type": "subscribe", "id": "1", "payload": WS_ME})
        result = await receive_message(ws)
    # then operations run as that user
    assert ack["type"] == "connection_ack"
    assert result["payload"] == {"data": {"me": {"email": "socket@example.com"}}}


async def test_websocket_without_a_valid_token_is_rejected(
    app: Starlette, runtime: Runtime
) -> None:
    transport = ASGIWebSocketTransport(app=app)
    for payload in ({}, {"Authorization": "Bearer not-a-jwt"}):
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
            graphql_ws(http) as ws,
        ):
            # when
            await ws.send_json({"type": "connection_init", "payload": payload})
            # then the server closes with graphql-transport-ws' "Forbidden"
            try:
                message: Any = await receive_message(ws)
            except WebSocketDisconnect as closed:
                assert closed.code == 4403
            else:
                raise AssertionError(f"expected a rejection, got {message}")


def admin_secret() -> str:
    return "for admins"


def member_secret() -> str:
    return "for members"


@strawberry.type
class GuardedQuery:
    admin_secret: str = strawberry.field(resolver=admin_secret, permission_classes=[IsAdmin])
    member_secret: str = strawberry.field(
        resolver=member_secret, permission_classes=[IsAuthenticated]
    )


GUARDED = strawberry.Schema(query=GuardedQuery)


@dataclass
class FakeSettings:
    admins_need_totp: bool = False


@dataclass
class FakeRuntime:
    settings: FakeSettings


@dataclass
class FakeContext:
    user: CurrentUser | None
    runtime: FakeRuntime


def as_user(role: Role | None, *, admins_need_totp: bool = False) -> FakeContext:
    runtime = FakeRuntime(FakeSettings(admins_need_totp))
    if role is None:
        return FakeContext(user=None, runtime=runtime)
    user = CurrentUser(id=uuid.uuid4(), email="x@example.com", full_name="X", role=role)
    return FakeContext(user, runtime)


async def codes(query: str, role: Role | None, *, admins_need_totp: bool = False) -> list[Any]:
    context = as_user(role, admins_need_totp=admins_need_totp)
    result = await GUARDED.execute(query, context_value=context)
    return [(error.extensions or {}).get("code") for error in result.errors or []]


async def test_admins_without_two_factor_are_refused_when_it_is_required() -> None:
    for query in (ADMIN_SECRET, MEMBER_SECRET):
        assert await codes(query, Role.ADMIN, admins_need_totp=True) == ["FORBIDDEN"]
    assert await codes(MEMBER_SECRET, Role.USER, admins_need_totp=True) == []


async def test_admin_fields_refuse_anonymous_and_regular_users() -> None:
    assert await codes(ADMIN_SECRET, None) == ["UNAUTHENTICATED"]
    assert await codes(ADMIN_SECRET, Role.USER) == ["FORBIDDEN"]
    assert await codes(ADMIN_SECRET, Role.ADMIN) == []


async def test_member_fields_refuse_only_anonymous_callers() -> None:
    assert await codes(MEMBER_SECRET, None) == ["UNAUTHENTICATED"]
    assert await codes(MEMBER_SECRET, Role.USER) == []
    assert await codes(MEMBER_SECRET, Role.ADMIN) == []
