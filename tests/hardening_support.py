"""A small schema behind the real protections, for testing the mechanisms on fields that the
product schema may not have yet (log-in mutations, deep recursive types, a subscription).

It is built from the same extension classes and the same schema class as `graph.schema`, and
mounted by the real `create_app`, so every middleware and limit applies exactly as in production.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import strawberry
import uvicorn
from starlette.applications import Starlette
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from graph.app import create_app
from graph.error_pipeline import AppSchema
from graph.errors import MaskInternalErrors
from graph.hardening.extensions import QueryLimits, RateLimits
from tests.conftest import make_settings


@strawberry.type
class Item:
    id: strawberry.ID

    @strawberry.field
    def children(self, first: int | None = None, last: int | None = None) -> ItemConnection:
        return page_of(self.id, first or last or 20)

    @strawberry.field
    def parent(self) -> Item:
        return Item(id=strawberry.ID(f"{self.id}^"))

    @strawberry.field
    def siblings(self) -> list[Item]:
        return [Item(id=strawberry.ID(f"{self.id}~{i}")) for i in range(3)]


@strawberry.type
class ItemEdge:
    node: Item


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]
    total_count: int


def page_of(parent: str, size: int) -> ItemConnection:
    items = [Item(id=strawberry.ID(f"{parent}.{i}")) for i in range(size)]
    return ItemConnection(edges=[ItemEdge(node=item) for item in items], total_count=size)


@strawberry.input
class LogInInput:
    email: str
    password: str


@strawberry.input
class RefreshInput:
    refresh_token: str


@strawberry.enum
class Color(enum.Enum):
    CRIMSON = "CRIMSON"
    COBALT = "COBALT"


@strawberry.type
class Query:
    @strawberry.field
    def paint(self, color: Color) -> str:
        return color.value

    @strawberry.field
    def item(self) -> Item:
        return Item(id=strawberry.ID("1"))

    @strawberry.field
    def items(self, first: int | None = None, last: int | None = None) -> ItemConnection:
        return page_of("root", first or last or 20)

    @strawberry.field
    def dashboard(self) -> int:
        return 42

    @strawberry.field
    def boom(self) -> int:
        raise RuntimeError("secret detail at /srv/app/graph/x.py: SELECT * FROM users")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def log_in(self, input: LogInInput) -> bool:
        return input.password == "right"

    @strawberry.mutation
    def sign_up(self, input: LogInInput) -> bool:
        return True

    @strawberry.mutation
    def refresh_token(self, input: RefreshInput) -> bool:
        return True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        yield 0
        await asyncio.Event().wait()  # stays open until the client completes it


test_schema = AppSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(auto_camel_case=True),
    extensions=[
        QueryLimits,
        RateLimits,
        MaskInternalErrors,
        lambda: ParserCache(maxsize=64),
        lambda: ValidationCache(maxsize=64),
    ],
)


def small_app(database_url: str, tmp_path: Path, **overrides: Any) -> Starlette:
    return create_app(
        make_settings(database_url, tmp_path, **overrides), graphql_schema=test_schema
    )


@asynccontextmanager
async def client_for(
    app: Starlette, client_ip: str = "203.0.113.10", base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
    finally:
        await app.state.runtime.close()


def set_client_ip(client: httpx.AsyncClient, ip: str) -> None:
    """Later requests of `client` come from `ip` (the ASGI transport's peer address)."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    transport.client = (ip, 50000)


async def post(client: httpx.AsyncClient, query: str, **kwargs: Any) -> httpx.Response:
    variables = kwargs.pop("variables", None)
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await client.post("/graphql", json=body, **kwargs)


def codes(response: httpx.Response) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in response.json().get("errors", [])]


@asynccontextmanager
async def live_server(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1:<ephemeral>; yields `host:port`, stops on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not server.started:  # poll with a deadline: uvicorn offers no readiness event
        if task.done() or loop.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
