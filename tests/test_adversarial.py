"""An attacker's battery against the running app, on both databases, development and production.

Every answer must be a deliberate refusal or a normal result: never a 5xx, never internal
detail (tracebacks, file paths, SQL, driver names), and in production never a name hint. The
server must keep answering during the attack and after it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.app import create_app
from graph.node import to_global_id
from security.http import MAX_BODY_BYTES
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.hardening_support import client_for, live_server

LEAKS = (
    "Traceback",
    'File "',
    "/work/",
    "site-packages",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "SELECT ",
    "INSERT ",
    "psycopg",
    "RuntimeError",
    "Exception:",
)
JSON = {"content-type": "application/json"}


@dataclass
class Attack:
    name: str
    method: str = "POST"
    path: str = "/graphql"
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    params: dict[str, str] | None = None


def gql(name: str, query: str, variables: Any = None, **extra: Any) -> Attack:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return Attack(name, json=body, **extra)


def forged_tokens() -> list[tuple[str, str]]:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    claims = {"sub": str(uuid.uuid4()), "exp": 9999999999, "type": "access"}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return [
        ("alg none", f"{header}.{payload}."),
        ("garbage", "not.a.token"),
        ("huge", "A" * 8000),
        ("wrong signature", f"{header}.{payload}.c2lnbmF0dXJl"),
        ("control characters", "abc\tdef"),
    ]


ATTACKS: list[Attack] = [
    # sizes
    Attack("declared oversize body", content=b" " * (MAX_BODY_BYTES + 1)),
    Attack(
        "oversize variables",
        json={"query": "{ __typename }", "variables": {"x": "a" * MAX_BODY_BYTES}},
    ),
    gql("token flood", "{ " + "__typename " * 5000 + "}"),
    gql("long name", "{ " + "a" * 100_000 + " }"),
    # shapes
    gql("alias bomb", "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(500)) + " }"),
    gql("directive flood", "{ __typename " + "@include(if: true) " * 200 + "}"),
    gql(
        "deep introspection",
        "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType "
        "{ ofType { name } } } } } } } } } } }",
    ),
    gql("fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
    gql("self spread", "{ ...A } fragment A on Query { __typename ...A }"),
    gql(
        "fragment fan-out",
        "{ ...F0 } "
        + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60))
        + " fragment F60 on Query { __typename }",
    ),
    gql("deep nesting of braces", "{ me " + "{ id " * 3000 + "}" * 3000 + " }"),
    gql("defer directive", "{ me { ... @defer { id } } }"),
    gql("many operations", " ".join(f"query Q{i} {{ __typename }}" for i in range(300))),
    gql("two anonymous operations", "{ __typename } { __typename }"),
    Attack(
        "unknown operation name", json={"query": "query A { __typename }", "operationName": "B"}
    ),
    # malformed bodies
    Attack("truncated json", content=b'{"query": "{ __typename }"'),
    Attack("json null", content=b"null"),
    Attack("json string", content=b'"{ __typename }"'),
    Attack("json number query", content=b'{"query": 5}'),
    Attack("empty body", content=b""),
    Attack(
        "deeply nested json",
        content=b'{"query": "{ __typename }", "variables": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}",
    ),
    Attack("invalid utf-8", content=b'{"query": "{ \xff\xfe __typename }"}'),
    Attack("nul bytes", content=b'{"query": "{ __typename \\u0000 }"}'),
    Attack("batch", json=[{"query": "{ __typename }"}] * 50),
    # variables
    gql("variables not an object", "{ __typename }", variables="x"),
    gql("variables a list", "{ __typename }", variables=[1, 2]),
    gql(
        "wrong variable type",
        "query N($id: ID!) { node(id: $id) { id } }",
        variables={"id": {"$gt": ""}},
    ),
    gql("null for non-null", "query N($id: ID!) { node(id: $id) { id } }", variables={"id": None}),
    gql("huge integer", "query N($id: ID!) { node(id: $id) { id } }", variables={"id": 10**400}),
    gql("unknown variable", "{ node(id: $nope) { id } }"),
    gql("malformed global id", '{ node(id: "%%%\' OR 1=1 --") { id } }'),
    gql("unknown type id", '{ node(id: "' + base64.b64encode(b"Nope:1").decode() + '") { id } }'),
    # content types and methods
    Attack(
        "text/plain post",
        content=b'{"query": "{ __typename }"}',
        headers={"content-type": "text/plain"},
    ),
    Attack(
        "form post",
        content=b"query=%7B__typename%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    Attack(
        "multipart post",
        content=b"--x\r\n\r\n--x--",
        headers={"content-type": "multipart/form-data; boundary=x"},
    ),
    Attack("xml post", content=b"<query/>", headers={"content-type": "application/xml"}),
    Attack(
        "graphql post", content=b"{ __typename }", headers={"content-type": "application/graphql"}
    ),
    Attack(
        "preflighted text",
        content=b"{ __typename }",
        headers={"content-type": "text/plain", "apollo-require-preflight": "1"},
    ),
    Attack("get mutation", method="GET", params={"query": "mutation { __typename }"}),
    Attack("get without query", method="GET", headers={}),
    Attack("put", method="PUT", json={"query": "{ __typename }"}),
    Attack("delete", method="DELETE"),
    Attack(
        "sse subscription",
        json={"query": "{ __typename }"},
        headers={**JSON, "accept": "text/event-stream"},
    ),
    Attack(
        "multipart subscription",
        json={"query": "{ __typename }"},
        headers={**JSON, "accept": "multipart/mixed; subscriptionSpec=1.0"},
    ),
    # origins and hosts
    Attack(
        "foreign preflight",
        method="OPTIONS",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    ),
    gql(
        "foreign origin post", "{ __typename }", headers={**JSON, "origin": "https://evil.example"}
    ),
    Attack("bad request id", method="GET", path="/healthz", headers={"x-request-id": "\x7f" * 300}),
    # tokens
    *[
        gql(
            f"forged token: {name}",
            "{ me { id } }",
            headers={**JSON, "authorization": f"Bearer {token}"},
        )
        for name, token in forged_tokens()
    ],
    gql("basic auth", "{ me { id } }", headers={**JSON, "authorization": "Basic YTpi"}),
    # connections: page sizes, cursors and nesting
    gql("huge first", "{ resources(first: 1000000) { totalCount } }"),
    gql("negative last", "query R($n: Int) { resources(last: $n) { totalCount } }", {"n": -5}),
    gql("forged cursor", '{ resources(first: 5, after: "bm90LWEtY3Vyc29y") { totalCount } }'),
    gql(
        "nested connection bomb",
        "{ credentials { resources(first: 100) { edges { node { credential { "
        "resources(first: 100) { edges { node { id } } } } } } } } }",
    ),
    gql("huge activity", "{ dashboard { recentActivity(limit: 100000) { __typename } } }"),
    # the account mutations with hostile input
    gql(
        "sql in log-in",
        'mutation L($e: String!) { logIn(input: {email: $e, password: "x"}) { accessToken } }',
        variables={"e": "' OR '1'='1' --@example.com"},
    ),
    gql(
        "huge sign-up",
        "mutation S($e: String!, $p: String!) "
        "{ signUp(input: {email: $e, password: $p, fullName: $p}) { user { id } } }",
        variables={"e": "a" * 5000 + "@example.com", "p": "p" * 200_000},
    ),
    gql(
        "forged refresh token",
        "mutation R($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken } }",
        variables={"t": "x" * 10_000},
    ),
    gql(
        "log-in input of the wrong shape",
        "mutation L($i: LogInInput!) { logIn(input: $i) { accessToken } }",
        variables={"i": {"email": ["a"], "password": {"$ne": None}}},
    ),
]


async def send(client: httpx.AsyncClient, attack: Attack) -> httpx.Response:
    return await client.request(
        attack.method,
        attack.path,
        json=attack.json,
        content=attack.content,
        headers=attack.headers,
        params=attack.params,
    )


def problems(attack: Attack, response: httpx.Response, production: bool) -> list[str]:
    found = []
    if response.status_code >= 500:
        found.append(f"{attack.name}: HTTP {response.status_code}")
    text = response.text
    found += [f"{attack.name}: leaks {leak!r}" for leak in LEAKS if leak in text]
    if production and "Did you mean" in text:
        found.append(f"{attack.name}: suggests names in production")
    return found


@pytest.fixture(params=["development", "production"])
async def target(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, bool]]:
    production = request.param == "production"
    overrides: dict[str, Any] = {"rate_limit_default": "100000/minute"}
    if production:
        overrides |= {"environment": "production", "allowed_hosts": ["testserver"]}
    app = create_app(make_settings(database_url, tmp_path, **overrides))
    base = "https://testserver" if production else "http://testserver"
    async with client_for(app, base_url=base) as client:
        yield client, production


async def test_the_battery_leaves_no_5xx_and_no_internal_detail(
    target: tuple[httpx.AsyncClient, bool],
) -> None:
    client, production = target
    found: list[str] = []
    for attack in ATTACKS:
        found += problems(attack, await send(client, attack), production)
    assert found == []
    # and the server still answers normally afterwards
    healthy = await client.post("/graphql", json={"query": "{ __typename }"}, headers=JSON)
    assert healthy.status_code == 200 and healthy.json() == {"data": {"__typename": "Query"}}


async def test_the_server_keeps_answering_during_an_attack(
    target: tuple[httpx.AsyncClient, bool],
) -> None:
    client, _ = target
    legit = {"query": "{ __typename }"}

    async def attack_wave() -> list[httpx.Response]:
        return [await send(client, attack) for attack in ATTACKS[:12]]

    async def legit_stream() -> list[httpx.Response]:
        return [await client.post("/graphql", json=legit, headers=JSON) for _ in range(10)]

    attacked, served = await asyncio.gather(attack_wave(), legit_stream())
    assert all(r.status_code < 500 for r in attacked)
    assert [r.status_code for r in served] == [200] * 10


async def test_real_nested_connections_are_priced_before_running(
    target: tuple[httpx.AsyncClient, bool],
) -> None:
    # given an authenticated user (so the refusal cannot be an authentication error)
    client, _ = target
    runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    user = await create_user(runtime)
    headers = {**JSON, "authorization": f"Bearer {access_token(runtime, user)}"}
    nested = (
        "{ credentials { resources(first: 100) { edges { node { credential { "
        "resources(first: 100) { totalCount } } } } } } }"
    )
    response = await client.post("/graphql", json={"query": nested}, headers=headers)
    # then it is refused with its worst case: 10 credentials x 100 x (1 + 100)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"] == 10 + 10 * (100 + 100 * 100)
    assert "data" not in response.json()


async def test_cross_tenant_reads_through_node_see_nothing(
    target: tuple[httpx.AsyncClient, bool], database_url: str
) -> None:
    client, _ = target
    runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    alice, bob = await create_user(runtime), await create_user(runtime)
    query = "query N($id: ID!) { node(id: $id) { id ... on User { email } } }"
    probes: list[Callable[[uuid.UUID], str]] = [
        lambda u: to_global_id("User", u),
        lambda u: to_global_id("CloudCredential", u),
        lambda u: to_global_id("CloudResource", u),
        lambda u: to_global_id("SyncJob", u),
        lambda u: to_global_id("AuditEvent", u),
    ]
    headers = {**JSON, "authorization": f"Bearer {access_token(runtime, alice)}"}
    for probe in probes:
        variables = {"id": probe(bob.id)}
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code < 500
        assert bob.email not in response.text
        assert response.json().get("data") in ({"node": None}, None)


async def test_brute_force_by_aliases_and_batches_is_bounded(
    database_url: str, tmp_path: Path
) -> None:
    # given the real app with the contract's log-in limit
    settings = make_settings(database_url, tmp_path, rate_limit_login="5/minute")
    async with client_for(create_app(settings)) as client:
        # when an attacker packs twelve password guesses into one document, or batches them
        guesses = " ".join(
            f'g{i}: logIn(input: {{email: "victim@example.com", password: "guess{i}"}}) '
            "{ accessToken }"
            for i in range(12)
        )
        packed = await client.post("/graphql", json={"query": f"mutation {{ {guesses} }}"})
        single = {
            "query": 'mutation { logIn(input: {email: "v@example.com", password: "x"}) '
            "{ accessToken } }"
        }
        batched = await client.post("/graphql", json=[single] * 12)
        # then the packed document counts twelve and is refused whole; batches are not accepted
        assert packed.status_code == 429 and "data" not in packed.json()
        assert batched.status_code == 400


CROSS_TENANT_WRITES = """
mutation Attack($id: ID!, $secret: CredentialSecretInput!) {
  rename: updateCredential(input: {id: $id, name: "pwned"}) { userErrors { code } }
  swap: updateCredential(input: {id: $id, secret: $secret}) { userErrors { code } }
  drop: deleteCredential(input: {id: $id}) { deletedId userErrors { code } }
}
"""
ADD_CREDENTIAL = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id name fingerprint } userErrors { code } }
}
"""


async def test_cross_tenant_writes_through_mutations_change_nothing(
    target: tuple[httpx.AsyncClient, bool],
) -> None:
    # given bob's credential, created through the API
    client, _ = target
    runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    alice, bob = await create_user(runtime), await create_user(runtime)
    as_bob = {**JSON, "authorization": f"Bearer {access_token(runtime, bob)}"}
    as_alice = {**JSON, "authorization": f"Bearer {access_token(runtime, alice)}"}
    added = await client.post(
        "/graphql",
        json={"query": ADD_CREDENTIAL, "variables": {"input": {"name": "prod", "secret": aws()}}},
        headers=as_bob,
    )
    credential = added.json()["data"]["addCredential"]["credential"]
    # when alice renames, re-keys and deletes it by its ID, in one packed document
    attack = await client.post(
        "/graphql",
        json={"query": CROSS_TENANT_WRITES, "variables": {"id": credential["id"], "secret": aws()}},
        headers=as_alice,
    )
    # then every attempt is a NOT_FOUND like for a missing ID, and bob's credential is intact
    data = attack.json()["data"]
    assert [data[k]["userErrors"][0]["code"] for k in ("rename", "swap", "drop")] == [
        "NOT_FOUND"
    ] * 3
    assert data["drop"]["deletedId"] is None
    listed = await client.post(
        "/graphql", json={"query": "{ credentials { id name fingerprint } }"}, headers=as_bob
    )
    assert listed.json()["data"]["credentials"] == [credential]


def aws() -> dict[str, Any]:
    return {
        "aws": {"accessKeyId": "AKIA" + uuid.uuid4().hex[:16].upper(), "secretAccessKey": "s" * 40}
    }


async def test_over_a_real_socket_the_server_survives_garbage(
    database_url: str, tmp_path: Path
) -> None:
    # given the app served by uvicorn on an ephemeral port
    app = create_app(make_settings(database_url, tmp_path))
    try:
        async with live_server(app) as address:
            host, port = address.split(":")
            # when raw garbage, a lying Content-Length and an oversize streamed body arrive
            answers = []
            for raw in (
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n"
                b"Content-Type: application/json\r\n\r\n{}",
                b"GET /graphql?" + b"q" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            ):
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(raw)
                await writer.drain()
                answers.append(await asyncio.wait_for(reader.read(4096), 10))
                writer.close()
                await writer.wait_closed()

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(MAX_BODY_BYTES // 65536 + 2):
                    yield b" " * 65536

            async with httpx.AsyncClient(base_url=f"http://{address}") as http:
                oversize = await http.post("/graphql", content=chunks(), headers=JSON)
                after = await http.post("/graphql", json={"query": "{ __typename }"})
    finally:
        await app.state.runtime.close()
    # then every answer is a 4xx or a closed connection, never a 5xx or a trace
    for answer in answers:
        assert not answer.startswith(b"HTTP/1.1 5"), answer[:80]
        assert b"Traceback" not in answer
    assert oversize.status_code == 413
    # and the server still answers
    assert after.status_code == 200 and after.json() == {"data": {"__typename": "Query"}}
