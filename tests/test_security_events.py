"""Security events appear for their causes, once per cause, for the account they concern: queried,
counted in Prometheus, and pushed over the `securityEvents` subscription.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from db.enums import Role
from graph.node import from_global_id
from graph.runtime import Runtime
from security.security_events import SECURITY_EVENT_BUS
from tests.credential_data import aws_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, log_in, refresh, signed_up_session
from tests.statement_counter import counting_statements
from tests.two_factor_support import DISABLE, enrol, install_clock
from tests.websocket_sessions import open_socket, receive, subscribe

pytestmark = pytest.mark.usefixtures("fast_passwords")

EVENTS = """
query { securityEvents(first: 50) {
  totalCount
  edges { node { id kind severity outcome ip details user { email } } }
} }
"""
ADD = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id } userErrors { code } }
}
"""
UPDATE = """
mutation Update($input: UpdateCredentialInput!) {
  updateCredential(input: $input) { credential { id } userErrors { code } }
}
"""
OTHER_ADDRESS = "198.51.100.7"


async def until_listening(user_id: uuid.UUID, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not SECURITY_EVENT_BUS.listening(user_id):
        assert loop.time() < deadline, "the subscription never started"
        await asyncio.sleep(0.01)


def local_user_id(global_id: str) -> uuid.UUID:
    return from_global_id(global_id, "User")[1]


def kinds(result: Any) -> list[str]:
    return [edge["node"]["kind"] for edge in result.ok()["securityEvents"]["edges"]]


def counted(kind: str) -> float:
    value = REGISTRY.get_sample_value("stratograph_security_events_total", {"kind": kind})
    return value or 0.0


@pytest.fixture
async def elsewhere(app: Starlette) -> AsyncIterator[GraphQLClient]:
    """The same server, reached from another address."""
    transport = httpx.ASGITransport(app=app, client=(OTHER_ADDRESS, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


async def test_failed_log_ins_raise_account_under_attack_once_per_window(
    gql: GraphQLClient,
) -> None:
    # given an account whose password is being guessed
    session = await signed_up_session(gql, "target@example.com")
    before = counted("ACCOUNT_UNDER_ATTACK")
    failures = REGISTRY.get_sample_value(
        "stratograph_login_failures_total", {"reason": "wrong_password"}
    )
    for _ in range(9):
        assert (await log_in(gql, "target@example.com", "Wrong-Guess-1"))["accessToken"] is None
    assert kinds(await gql(EVENTS, token=session["accessToken"])) == []
    # when the tenth guess fails, and more follow
    for _ in range(4):
        await log_in(gql, "target@example.com", "Wrong-Guess-1")
    # then one event is raised for the window, not one per attempt
    result = await gql(EVENTS, token=session["accessToken"])
    assert kinds(result) == ["ACCOUNT_UNDER_ATTACK"]
    event = result.ok()["securityEvents"]["edges"][0]["node"]
    assert event["severity"] == "HIGH" and event["outcome"] == "FAILURE"
    assert event["details"]["failures"] == 10
    assert counted("ACCOUNT_UNDER_ATTACK") == before + 1
    # and the refusals are counted by reason
    after = REGISTRY.get_sample_value(
        "stratograph_login_failures_total", {"reason": "wrong_password"}
    )
    assert (after or 0) - (failures or 0) == 13


async def test_a_log_in_from_a_new_address_raises_new_location_once(
    gql: GraphQLClient, elsewhere: GraphQLClient
) -> None:
    # given an account signed up and logged in from its usual address
    session = await signed_up_session(gql, "traveller@example.com")
    assert (await log_in(gql, "traveller@example.com"))["accessToken"]
    assert kinds(await gql(EVENTS, token=session["accessToken"])) == []
    # when it logs in from another address, twice
    await log_in(elsewhere, "traveller@example.com")
    await log_in(elsewhere, "traveller@example.com")
    # then one NEW_LOCATION event names that address
    result = (await gql(EVENTS, token=session["accessToken"])).ok()["securityEvents"]
    assert [(e["node"]["kind"], e["node"]["ip"]) for e in result["edges"]] == [
        ("NEW_LOCATION", OTHER_ADDRESS)
    ]


async def test_refresh_token_reuse_raises_token_reuse(gql: GraphQLClient) -> None:
    session = await signed_up_session(gql, "copied@example.com")
    assert (await refresh(gql, session["refreshToken"]))["accessToken"]
    fresh = await log_in(gql, "copied@example.com")
    assert (await refresh(gql, session["refreshToken"]))["accessToken"] is None
    assert kinds(await gql(EVENTS, token=fresh["accessToken"])) == ["TOKEN_REUSE"]


async def test_disabling_two_factor_raises_totp_disabled(
    gql: GraphQLClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    session = await signed_up_session(gql, "weakened@example.com")
    token = session["accessToken"]
    app, _ = await enrol(gql, token, clock)
    assert kinds(await gql(EVENTS, token=token)) == []
    right = {"currentPassword": PASSWORD, "code": app.code()}
    assert (await gql(DISABLE, {"input": right}, token=token)).ok()["disableTotp"][
        "userErrors"
    ] == []
    result = (await gql(EVENTS, token=token)).ok()["securityEvents"]["edges"]
    assert [(e["node"]["kind"], e["node"]["details"]["by"]) for e in result] == [
        ("TOTP_DISABLED", "owner")
    ]


async def test_replacing_a_credential_secret_raises_credential_secret_replaced(
    gql: GraphQLClient,
) -> None:
    session = await signed_up_session(gql, "rotator@example.com")
    token = session["accessToken"]
    added = await gql(ADD, {"input": {"name": "prod", "secret": aws_secret().input}}, token=token)
    credential_id = added.ok()["addCredential"]["credential"]["id"]
    renamed = await gql(UPDATE, {"input": {"id": credential_id, "name": "production"}}, token=token)
    assert renamed.ok()["updateCredential"]["userErrors"] == []
    assert kinds(await gql(EVENTS, token=token)) == []
    swapped = await gql(
        UPDATE, {"input": {"id": credential_id, "secret": aws_secret().input}}, token=token
    )
    assert swapped.ok()["updateCredential"]["userErrors"] == []
    result = (await gql(EVENTS, token=token)).ok()["securityEvents"]["edges"]
    assert [e["node"]["kind"] for e in result] == ["CREDENTIAL_SECRET_REPLACED"]
    assert result[0]["node"]["details"]["credential_id"] == credential_id


async def test_users_see_their_own_events_and_admins_see_all(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given two users, each with a TOKEN_REUSE event
    tokens = {}
    for email in ("one@example.com", "two@example.com"):
        session = await signed_up_session(gql, email)
        await refresh(gql, session["refreshToken"])
        await refresh(gql, session["refreshToken"])
        tokens[email] = (await log_in(gql, email))["accessToken"]
    admin = await create_user(runtime, "auditor@example.com", role=Role.ADMIN)
    # then each user sees one, its own; the admin sees both with their users
    own = (await gql(EVENTS, token=tokens["one@example.com"])).ok()["securityEvents"]
    assert own["totalCount"] == 1
    assert own["edges"][0]["node"]["user"]["email"] == "one@example.com"
    every = (await gql(EVENTS, token=access_token(runtime, admin))).ok()["securityEvents"]
    assert sorted(e["node"]["user"]["email"] for e in every["edges"]) == [
        "one@example.com",
        "two@example.com",
    ]
    # and another user's event is not reachable by ID
    other_id = own["edges"][0]["node"]["id"]
    lookup = f'{{ node(id: "{other_id}") {{ id }} }}'
    assert (await gql(lookup, token=tokens["two@example.com"])).ok() == {"node": None}
    assert (await gql(lookup, token=tokens["one@example.com"])).ok() == {"node": {"id": other_id}}


async def test_the_subscription_pushes_the_events_of_its_user_only(
    app: Starlette, gql: GraphQLClient, elsewhere: GraphQLClient
) -> None:
    # given a user following their security events, and another user
    watcher = await signed_up_session(gql, "watcher@example.com")
    other = await signed_up_session(gql, "other@example.com")
    async with open_socket(app, watcher["accessToken"]) as ws:
        query = "subscription { securityEvents { kind ip user { email } } }"
        assert await subscribe(ws, "events", query)
        await until_listening(local_user_id(watcher["user"]["id"]))
        # when the other user and then the watcher log in from a new address
        await log_in(elsewhere, "other@example.com")
        await log_in(elsewhere, "watcher@example.com")
        # then the first push is the watcher's own event
        message = await receive(ws)
        assert isinstance(message, dict) and message["type"] == "next", message
        pushed = message["payload"]["data"]["securityEvents"]
        assert pushed == {
            "kind": "NEW_LOCATION",
            "ip": OTHER_ADDRESS,
            "user": {"email": "watcher@example.com"},
        }
    assert other["accessToken"]


@pytest.mark.parametrize("users", [1, 20])
async def test_a_page_of_security_events_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, users: int
) -> None:
    # given `users` accounts with a TOKEN_REUSE event each, listed by an admin with their users
    for index in range(users):
        session = await signed_up_session(gql, f"counted-{index}@example.com")
        await refresh(gql, session["refreshToken"])
        await refresh(gql, session["refreshToken"])
    admin = await create_user(runtime, role=Role.ADMIN)
    with counting_statements(runtime) as counter:
        result = await gql(EVENTS, token=access_token(runtime, admin))
    assert result.ok()["securityEvents"]["totalCount"] == users
    # then: auth, page, one user batch, count; PostgreSQL adds one set_config each
    assert counter.count == (4 if backend == "sqlite" else 8), counter.statements
