"""LOG_LEVEL=DEBUG keeps secrets out of the log (issue 12 item 9), on a real server process.

A full flow against `stratograph serve` with LOG_LEVEL=DEBUG — sign up, log in, refresh,
addCredential over HTTP and over a WebSocket, a sync against the AWS stand-in — then the log must
hold none of the password, the tokens, the cloud secrets, a password hash or a token digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster import Cluster, ClusterDatabase, cluster_env
from tests.services import require_postgres
from tests.standins.aws import MotoServer
from tests.websockets import ws_connect

PASSWORD = "Vortex-Lantern-7" + secrets.token_hex(4)
ADD = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id } userErrors { code } }
}
"""
SESSION = "accessToken refreshToken userErrors { code }"


@pytest.fixture
async def database(backend: str, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(URL the server uses, URL migrations use)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'debug.db'}"
        yield url, url
        return
    database = ClusterDatabase(require_postgres())
    await database.create()
    await database.grant_app_role()
    try:
        yield database.app_url, database.admin_url
    finally:
        await database.drop()


async def call(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


def aws_input(name: str, key_id: str, secret: str) -> dict[str, Any]:
    return {
        "input": {
            "name": name,
            "defaultRegion": "us-east-1",
            "secret": {"aws": {"accessKeyId": key_id, "secretAccessKey": secret}},
        }
    }


async def test_debug_logs_hold_no_secret(database: tuple[str, str], tmp_path: Path) -> None:
    # Given a server process at LOG_LEVEL=DEBUG, its AWS endpoint a moto stand-in
    moto = MotoServer()
    app_url, admin_url = database
    env = cluster_env(
        app_url,
        "memory://",
        tmp_path,
        LOG_LEVEL="DEBUG",
        AWS_ENDPOINT_URL=moto.url,
        AWS_SYNC_REGIONS="us-east-1",
    )
    cluster = Cluster(env, tmp_path)
    http_secret = "httpSECRET" + secrets.token_urlsafe(24)
    ws_secret = "wsSECRET" + secrets.token_urlsafe(24)
    seen: list[str] = [PASSWORD, http_secret, ws_secret]
    try:
        migrate = Cluster({**env, "DATABASE_URL": admin_url}, tmp_path).start("migrate", "migrate")
        assert migrate.popen.wait(60) == 0, migrate.output()
        server = cluster.serve("api")
        await cluster.wait_ready(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            # When a user signs up, logs in, refreshes, adds credentials both ways and syncs
            email = "debug@example.com"
            signup = {"input": {"email": email, "password": PASSWORD, "fullName": "De Bug"}}
            signed = await call(
                http,
                "mutation($input: SignUpInput!) { signUp(input: $input) { userErrors { code } } }",
                signup,
            )
            assert signed["signUp"]["userErrors"] == [], signed
            login = {"input": {"email": email, "password": PASSWORD}}
            first = (
                await call(
                    http,
                    f"mutation($input: LogInInput!) {{ logIn(input: $input) {{ {SESSION} }} }}",
                    login,
                )
            )["logIn"]
            refreshed = (
                await call(
                    http,
                    f"mutation($input: RefreshTokenInput!) {{ refreshToken(input: $input) "
                    f"{{ {SESSION} }} }}",
                    {"input": {"refreshToken": first["refreshToken"]}},
                )
            )["refreshToken"]
            assert first["userErrors"] == [] and refreshed["userErrors"] == [], refreshed
            token = refreshed["accessToken"]
            seen += [first["accessToken"], first["refreshToken"], token, refreshed["refreshToken"]]
            added = await call(
                http, ADD, aws_input("http", "AKIAHTTPDEBUG0000001", http_secret), token
            )
            assert added["addCredential"]["userErrors"] == []
            async with ws_connect(
                f"ws://127.0.0.1:{server.port}/graphql",
                http,
                subprotocols=["graphql-transport-ws"],
            ) as ws:
                init = {"Authorization": f"Bearer {token}"}
                await ws.send_text(json.dumps({"type": "connection_init", "payload": init}))
                assert json.loads((await ws.receive(timeout=10)).data)["type"] == "connection_ack"
                payload = {
                    "query": ADD,
                    "variables": aws_input("ws", "AKIAWSDEBUG000000001", ws_secret),
                }
                await ws.send_text(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                reply = json.loads((await ws.receive(timeout=10)).data)
                assert reply["payload"]["data"]["addCredential"]["userErrors"] == [], reply
            await call(http, "mutation { startSync(input: {}) { jobs { id } } }", {}, token)
            await wait_for_jobs(http, token)
    finally:
        cluster.close()
        moto.stop()
    log = (tmp_path / "api.log").read_text(errors="replace")
    # Then the log was written at DEBUG, and holds none of the secrets
    assert " DEBUG " in log, log[-2000:]
    digests = [hashlib.sha256(value.encode()).hexdigest() for value in seen]
    # Frame logs keep a message's head and tail: look for the ends of each value too.
    pieces = [piece for v in seen for piece in (v, v[:10], v[-10:])]
    leaked = [v[:12] for v in (*pieces, *digests, "$argon2") if v in log]
    assert leaked == [], f"leaked {leaked}"


async def wait_for_jobs(http: httpx.AsyncClient, token: str) -> None:
    deadline = time.monotonic() + 60
    query = "{ syncJobs { edges { node { status } } } }"
    while True:
        data = await call(http, query, {}, token)
        statuses = [e["node"]["status"] for e in data["syncJobs"]["edges"]]
        if statuses and all(s not in ("QUEUED", "RUNNING") for s in statuses):
            return
        assert time.monotonic() < deadline, statuses
        await asyncio.sleep(0.2)
