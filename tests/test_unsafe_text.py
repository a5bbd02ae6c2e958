"""Text PostgreSQL cannot store never reaches it, and statement parameters never reach a log.

Attack tests for issue 12 item 7, on both databases: a NUL byte in a header that is stored
(User-Agent), in a variable and in a literal, over HTTP and over a WebSocket; and a failing
statement whose message would quote its parameters (password hashes, ciphertexts).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from db.models import AuditEventRow, RefreshTokenRow
from graph.app import create_app
from graph.runtime import Runtime
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.live_server import live_server
from tests.sessions import LOG_IN, PASSWORD, SIGN_UP
from tests.websockets import ws_connect


async def test_a_nul_in_the_user_agent_is_stored_clean(
    gql: GraphQLClient, runtime: Runtime, fast_passwords: PasswordHasher
) -> None:
    # Given a client whose User-Agent carries a NUL and a control character
    agent = {"user-agent": "evil\x00agent\x1b[31m"}
    signup = {"input": {"email": "ua@example.com", "password": PASSWORD, "fullName": "U A"}}
    # When it signs up and logs in (both write audit rows; log-in writes a session row)
    signed = await gql(SIGN_UP, signup, headers=agent)
    logged = await gql(
        LOG_IN, {"input": {"email": "ua@example.com", "password": PASSWORD}}, headers=agent
    )
    # Then both succeed and what was stored holds no NUL or escape character
    assert signed.ok()["signUp"]["userErrors"] == []
    assert logged.ok()["logIn"]["accessToken"]
    async with runtime.database.system_session() as session:
        agents = list((await session.execute(select(AuditEventRow.user_agent))).scalars())
        agents += list((await session.execute(select(RefreshTokenRow.user_agent))).scalars())
    assert len(agents) >= 3
    assert all(a == "evil\ufffdagent\ufffd[31m" for a in agents), agents


@pytest.mark.parametrize("where", ["variable", "literal"])
async def test_a_nul_in_a_filter_is_a_bad_request(
    gql: GraphQLClient, runtime: Runtime, where: str
) -> None:
    # Given a signed-in user
    token = access_token(runtime, await create_user(runtime))
    # When a resource search carries a NUL byte
    if where == "variable":
        query = "query($s: String) { resources(filter: {search: $s}) { totalCount } }"
        response = await gql(query, {"s": "web\x00"}, token=token)
    else:
        query = '{ resources(filter: {search: "web\\u0000"}) { totalCount } }'
        response = await gql(query, token=token)
    # Then it is refused as a bad request naming where, not crashed
    assert response.error_codes == ["BAD_REQUEST"], response.body
    assert "NUL" in response.errors[0]["message"]
    if where == "variable":
        assert response.errors[0]["extensions"]["variablePath"] == ["s"]


async def test_a_nul_over_a_websocket_is_a_bad_request(database_url: str, tmp_path: Path) -> None:
    # Given the real app served, and a signed-in user on a socket
    app = create_app(make_settings(database_url, tmp_path))
    runtime: Runtime = app.state.runtime
    token = access_token(runtime, await create_user(runtime))
    try:
        async with (
            live_server(app) as address,
            httpx.AsyncClient() as http,
            ws_connect(
                f"ws://{address}/graphql", http, subprotocols=["graphql-transport-ws"]
            ) as ws,
        ):
            init = {"Authorization": f"Bearer {token}"}
            await ws.send_text(json.dumps({"type": "connection_init", "payload": init}))
            assert json.loads((await ws.receive(timeout=5)).data)["type"] == "connection_ack"
            # When an operation's variables carry a NUL inside an input object
            query = "query($f: ResourceFilter) { resources(filter: $f) { totalCount } }"
            payload = {"query": query, "variables": {"f": {"region": ["eu\x00"]}}}
            await ws.send_text(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            message = json.loads((await ws.receive(timeout=5)).data)
        # Then the socket answers BAD_REQUEST with the path of the bad value
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "BAD_REQUEST", message
        assert errors[0]["extensions"]["variablePath"] == ["f", "region", 0]
    finally:
        await runtime.close()


async def test_a_failing_statement_never_quotes_its_parameters(runtime: Runtime) -> None:
    # Given a statement whose parameter is a secret-looking value, failing in the database
    marker = f"hash-{uuid.uuid4().hex}"
    # When it fails
    with pytest.raises(DBAPIError) as raised:
        async with runtime.database.system_session() as session:
            await session.execute(
                text("SELECT * FROM no_such_table WHERE name = :v"), {"v": marker}
            )
    # Then the exception (what the error log prints) does not carry the parameter
    assert marker not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
