"""Request errors carry `extensions.code` on both transports, in development and production:
`GRAPHQL_VALIDATION_FAILED` for a document that breaks a validation rule, `BAD_REQUEST` for a
syntax error, variables that do not fit and malformed request shapes. Attack tests: before the
fix validation errors carried no code, and malformed WebSocket payloads (`"variables": [1]`,
`"query": null`, …) crashed as INTERNAL_SERVER_ERROR or closed the socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from graph.app import create_app
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.websocket_sessions import Closed, open_socket, receive

ME = "query { me { email } }"
# HTTPS: production refuses plain HTTP and ws:// (development accepts both).
BASE_URL = "https://testserver"
WRONG = "GRAPHQL_VALIDATION_FAILED"
NODE = "query($id: ID!) { node(id: $id) { id } }"
# (name, document, variables, code)
DOCUMENTS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("unknown field", "{ me { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("unknown argument", "{ me(id: 1) { email } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("unused variable", "query($n: Int) { me { email } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("wrong literal type", '{ resources(first: "x") { totalCount } }', None, WRONG),
    ("syntax error", "{ me {", None, "BAD_REQUEST"),
    ("variable of the wrong type", NODE, {"id": {"a": 1}}, "BAD_REQUEST"),
    ("missing required variable", NODE, {}, "BAD_REQUEST"),
]
# Payloads HTTP refuses with 400: over a socket each gets an `error` for its id.
MALFORMED_PAYLOADS: list[tuple[str, Any]] = [
    ("variables a list", {"query": ME, "variables": [1]}),
    ("variables a string", {"query": ME, "variables": "x"}),
    ("query null", {"query": None}),
    ("query missing", {}),
    ("query a number", {"query": 5}),
    ("operationName a number", {"query": ME, "operationName": 5}),
    ("extensions a string", {"query": ME, "extensions": "x"}),
    ("payload a list", [ME]),
    ("payload a string", ME),
    ("payload null", None),
    ("unknown operation name", {"query": ME, "operationName": "Nope"}),
]


@pytest.fixture(params=["development", "production"])
async def app(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[Starlette]:
    overrides: dict[str, Any] = {}
    if request.param == "production":
        overrides = {"environment": "production", "allowed_hosts": ["testserver"]}
    application = create_app(make_settings(database_url, tmp_path, **overrides))
    yield application
    await application.state.runtime.close()


@pytest.fixture
async def token(app: Starlette) -> str:
    runtime = app.state.runtime
    return access_token(runtime, await create_user(runtime))


async def http_errors(app: Starlette, token: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.post(
            "/graphql", json=body, headers={"authorization": f"Bearer {token}"}
        )
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


def codes(errors: list[dict[str, Any]]) -> list[Any]:
    return [(error.get("extensions") or {}).get("code") for error in errors]


@pytest.mark.parametrize(("name", "document", "variables", "code"), DOCUMENTS)
async def test_request_errors_carry_a_code_on_both_transports(
    app: Starlette, token: str, name: str, document: str, variables: Any, code: str
) -> None:
    body: dict[str, Any] = {"query": document}
    if variables is not None:
        body["variables"] = variables
    # when the document is sent over HTTP and over a WebSocket
    over_http = await http_errors(app, token, body)
    async with open_socket(app, token, BASE_URL) as ws:
        await ws.send_json({"id": "1", "type": "subscribe", "payload": body})
        answer = await receive(ws)
    # then both answer the same error, with the code (a socket sends it as an `error` message,
    # or, for variables refused as execution begins, as a `next` without data)
    assert codes(over_http) == [code], over_http
    assert isinstance(answer, dict), answer
    if answer["type"] == "next":
        assert answer["payload"]["data"] is None, answer
        assert answer["payload"]["errors"] == over_http
    else:
        assert answer["type"] == "error", answer
        assert answer["payload"] == over_http


@pytest.mark.parametrize(("name", "payload"), MALFORMED_PAYLOADS)
async def test_malformed_subscribe_payloads_are_bad_requests(
    app: Starlette, token: str, name: str, payload: Any
) -> None:
    async with open_socket(app, token, BASE_URL) as ws:
        # when a malformed operation is sent, then a good one
        await ws.send_json({"id": "bad", "type": "subscribe", "payload": payload})
        bad = await receive(ws)
        await ws.send_json({"id": "good", "type": "subscribe", "payload": {"query": ME}})
        good = await receive(ws)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        # and the same payload is posted as an HTTP body
        posted = await http.post(
            "/graphql",
            content=orjson.dumps(payload),
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
    # then HTTP answers 400 with a BAD_REQUEST error
    assert posted.status_code == 400, posted.text
    assert codes(posted.json()["errors"]) == ["BAD_REQUEST"], posted.text
    # and over the socket the first gets a BAD_REQUEST error and the socket keeps serving
    assert isinstance(bad, dict), bad
    assert bad["id"] == "bad" and bad["type"] == "error", bad
    assert codes(bad["payload"]) == ["BAD_REQUEST"], bad
    assert isinstance(good, dict) and good["type"] == "next", good
    assert good["payload"]["data"]["me"]["email"]


@pytest.mark.parametrize(
    "message",
    [[1, 2], "subscribe", 5, {"type": "subscribe", "id": 5, "payload": {"query": ME}}],
    ids=["list", "string", "number", "numeric id"],
)
async def test_messages_that_are_not_protocol_messages_close_with_4400(
    app: Starlette, token: str, message: Any
) -> None:
    async with open_socket(app, token, BASE_URL) as ws:
        await ws.send_json(message)
        answer = await receive(ws)
    assert answer == Closed(4400)


async def test_subscriptions_over_http_are_bad_requests(app: Starlette, token: str) -> None:
    # given a subscription document, sent over HTTP (where nothing could end it with the session)
    query = "subscription Follow($id: ID!) { syncJob(id: $id) { status } }"
    body = {"query": query, "variables": {"id": "U3luY0pvYjox"}}
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        # when it is posted, with and without a streaming Accept header, and sent with GET
        answers = [
            await http.post("/graphql", json=body, headers=headers),
            await http.post(
                "/graphql",
                json=body,
                headers={**headers, "accept": 'multipart/mixed;subscriptionSpec="1.0"'},
            ),
            await http.get("/graphql", params={"query": query}, headers=headers),
        ]
    # then each is a BAD_REQUEST pointing at the WebSocket, never an internal error
    for answer in answers:
        assert codes(answer.json()["errors"]) == ["BAD_REQUEST"], answer.text
        assert "WebSocket" in answer.json()["errors"][0]["message"]
