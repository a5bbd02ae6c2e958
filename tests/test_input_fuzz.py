"""Every string argument of the schema, fed hostile text: nothing crashes, nothing half-stored.

Walks the exported schema (`tests.schema_fuzz`) and sends each String/ID slot of every query and
mutation — inside input objects and lists too — a NUL byte, an unpaired surrogate (`\\ud800` in
the JSON), a string as large as the body cap allows, and a right-to-left override, as variables
and (for the text that a JSON body can carry) as literals in the document; anonymous and
authenticated; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from db.models import CloudCredentialRow, UserRow
from graph.runtime import Runtime
from graph.schema import schema
from security.http import MAX_BODY_BYTES
from security.passwords import PasswordHasher
from tests.credential_data import aws_secret
from tests.graphql_client import GraphQLClient
from tests.schema_fuzz import EnumName, Probe, probes
from tests.sessions import PASSWORD, signed_up_session

PROBES: dict[str, str] = {
    "nul": "a\x00b",
    "surrogate": "a\ud800b",
    # The largest string a request body can carry (the cap is 1 MiB with the JSON around it).
    "huge": "x" * (MAX_BODY_BYTES - 8 * 1024),
    "rtl": "abc\u202etxt.exe",
}
# Text that must be refused wherever it appears (PostgreSQL cannot store it).
REFUSED = {"nul", "surrogate"}
ALL_PROBES = probes(schema._schema)

ADD_CREDENTIAL = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id } userErrors { code } }
}
"""


def literal(value: Any) -> str:
    """The GraphQL literal of a JSON value (JSON string escapes are GraphQL escapes)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, EnumName):
        return str(value)
    return json.dumps(value)


def inline(probe: Probe, variables: dict[str, Any]) -> str:
    """The probe's document with its variables written in as literals."""
    _, _, body = probe.document.partition("{")
    arguments = ", ".join(f"{name}: {literal(value)}" for name, value in variables.items())
    call = f"{probe.field}({arguments})" if arguments else probe.field
    rest = body.strip()[len(probe.field) :]
    rest = rest[rest.index(")") + 1 :] if rest.startswith("(") else rest
    return f"{probe.operation_type} {{ {call}{rest}"


async def counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.database.system_session() as session:
        users = (await session.execute(select(func.count()).select_from(UserRow))).scalar_one()
        credentials = (
            await session.execute(select(func.count()).select_from(CloudCredentialRow))
        ).scalar_one()
    return int(users), int(credentials)


def refused_somewhere(body: dict[str, Any]) -> bool:
    if body.get("errors"):
        return True
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and payload.get("userErrors"):
            return True
    return False


async def test_every_string_argument_survives_hostile_text(
    http: httpx.AsyncClient,
    gql: GraphQLClient,
    runtime: Runtime,
    fast_passwords: PasswordHasher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an account with one credential, and every string slot of the schema
    session = await signed_up_session(gql, "fuzz-owner@example.com")
    token = session["accessToken"]
    added = await _post(
        http,
        ADD_CREDENTIAL,
        {
            "input": {
                "name": "fuzz",
                "defaultRegion": "us-east-1",
                "secret": aws_secret().input,
            }
        },
        token,
    )
    assert added.json()["data"]["addCredential"]["userErrors"] == [], added.json()
    credential_id = str(added.json()["data"]["addCredential"]["credential"]["id"])
    serial = iter(range(1_000_000))

    def plausible(name: str) -> str:
        if name == "email":
            return f"fuzz-{next(serial)}@example.com"
        if name in ("password", "newPassword"):
            return "Fuzz-Passw0rd-Strong-93"
        if name == "currentPassword":
            return PASSWORD
        if name in ("id", "credentialId"):
            return credential_id
        return {"defaultRegion": "us-east-1", "refreshToken": "no-such-token"}.get(name, "fuzz")

    assert len(ALL_PROBES) > 40, "the walk should find the schema's string arguments"
    failures: list[str] = []
    caplog.set_level(logging.ERROR)

    # When each slot gets each probe, as a variable and as a literal, with and without a token
    for probe in ALL_PROBES:
        for probe_name, text in PROBES.items():
            variables = probe.variables(text, plausible)
            sends = [(probe.document, variables)]
            if probe_name in ("nul", "rtl"):
                sends.append((inline(probe, variables), {}))
            for document, values in sends:
                for bearer in (None, token):
                    before = await counts(runtime)
                    response = await _post(http, document, values, bearer)
                    failures.extend(
                        _judge(probe, probe_name, response, before, await counts(runtime))
                    )

    # Then nothing crashed, hostile text was refused as a bad request, nothing was half-stored
    assert failures == [], "\n".join(failures[:40])
    crashes = [r for r in caplog.records if r.exc_info or "unhandled" in r.getMessage()]
    assert crashes == [], [r.getMessage() for r in crashes[:5]]
    # And the account still works
    me = await _post(http, "{ me { email } }", {}, token)
    assert me.json()["data"]["me"]["email"] == "fuzz-owner@example.com"


async def test_a_one_mebibyte_string_is_refused_by_the_body_cap(http: httpx.AsyncClient) -> None:
    # Given a variable of exactly 1 MiB
    body = {"query": "query($s: String) { resources(filter: {search: $s}) { totalCount } }"}
    body["variables"] = {"s": "x" * MAX_BODY_BYTES}  # type: ignore[assignment]
    # When it is sent
    response = await http.post("/graphql", content=json.dumps(body), headers=_headers(None))
    # Then the body cap refuses it before anything parses it
    assert response.status_code == 413


def _judge(
    probe: Probe,
    probe_name: str,
    response: httpx.Response,
    before: tuple[int, int],
    after: tuple[int, int],
) -> list[str]:
    where = f"{probe.label()} [{probe_name}]"
    if response.status_code >= 500:
        return [f"{where}: HTTP {response.status_code}"]
    if response.status_code in (400, 413) and "json" not in response.headers["content-type"]:
        return []  # refused before GraphQL: a body that is not JSON (orjson refuses `\ud800`)
    body = response.json()
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
    problems: list[str] = []
    if "INTERNAL_SERVER_ERROR" in codes or any(code is None for code in codes):
        problems.append(f"{where}: errors {body.get('errors')!r:.300}")
    if probe_name in REFUSED and response.status_code == 200 and codes != ["BAD_REQUEST"]:
        problems.append(f"{where}: hostile text not refused: {body!r:.300}")
    if refused_somewhere(body) and before != after:
        problems.append(f"{where}: refused but rows changed {before} -> {after}")
    return problems


def _headers(token: str | None) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> httpx.Response:
    # json.dumps escapes a lone surrogate as `\ud800`; httpx's own encoder would refuse it.
    payload = json.dumps({"query": query, "variables": variables})
    return await http.post("/graphql", content=payload, headers=_headers(token))
