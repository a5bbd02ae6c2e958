"""A WebSocket's operations are authorized like HTTP requests, at the moment each one starts, and
the socket closes (4403) when its session ends: revocation, password change, expiry, deactivation
and role change. Attack tests: each scenario let the socket keep working before the fix.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from db.enums import Role
from db.models import CloudCredentialRow, UserRow
from graph.app import create_app
from graph.node import to_global_id
from graph.runtime import Runtime
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.credential_data import aws_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, signed_up_session
from tests.sync_support import create_credential
from tests.websocket_sessions import (
    Closed,
    closed_with,
    data_of,
    open_socket,
    receive,
    refused,
    run,
    subscribe,
)

ME = "query { me { email role } }"
USERS = "query { users(first: 1) { totalCount } }"
FOLLOW = "subscription Follow($id: ID!) { syncJob(id: $id) { id status } }"
LOG_OUT_ALL = "mutation { logOut(input: {allSessions: true}) { revokedSessions } }"
CHANGE_PASSWORD = """
mutation Change($input: ChangePasswordInput!) {
  changePassword(input: $input) { accessToken userErrors { field code } }
}
"""
ADD_CREDENTIAL = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id } userErrors { code } }
}
"""
NEW_PASSWORD = "Another-Horse-77"
# Long enough that only the in-process notice (or a per-operation check) can end a session.
NEVER = 300.0


def served(database_url: str, tmp_path: Path, recheck: float) -> Starlette:
    return create_app(make_settings(database_url, tmp_path, websocket_recheck_seconds=recheck))


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[Starlette]:
    application = served(database_url, tmp_path, NEVER)
    application.state.runtime.passwords.close()
    application.state.runtime.passwords = PasswordHasher.fast_for_tests()
    yield application
    await application.state.runtime.close()


@pytest.fixture
async def gql(app: Starlette) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


async def set_user(runtime: Runtime, user_id: uuid.UUID, **values: Any) -> None:
    """Change the account row directly, as another process (or an admin tool) would."""
    async with runtime.database.system_session() as session:
        await session.execute(update(UserRow).where(UserRow.id == user_id).values(**values))


async def password_hash(runtime: Runtime, user_id: uuid.UUID) -> str:
    async with runtime.database.system_session() as session:
        found = await session.scalar(select(UserRow.password_hash).where(UserRow.id == user_id))
    assert found is not None
    return found


async def credential_count(runtime: Runtime, user_id: uuid.UUID) -> int:
    async with runtime.database.system_session() as session:
        rows = await session.scalars(
            select(CloudCredentialRow.id).where(CloudCredentialRow.user_id == user_id)
        )
        return len(rows.all())


def local_id(global_id: str) -> uuid.UUID:
    from graph.node import from_global_id

    return from_global_id(global_id, "User")[1]


@pytest.mark.parametrize("revocation", ["logOut", "changePassword"])
async def test_socket_closes_at_once_when_the_session_is_revoked(
    app: Starlette, gql: GraphQLClient, revocation: str
) -> None:
    # given a socket opened with a session's access token, running `me`
    session = await signed_up_session(gql, f"ws-{revocation.lower()}@example.com")
    token = session["accessToken"]
    async with open_socket(app, token) as ws:
        assert data_of(await run(ws, "before", ME))
        # when the session is revoked over HTTP (re-checks are minutes apart)
        if revocation == "logOut":
            result = await gql(LOG_OUT_ALL, token=token)
            assert result.ok()["logOut"]["revokedSessions"] == 1
        else:
            variables = {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}
            result = await gql(CHANGE_PASSWORD, variables, token=token)
            assert result.ok()["changePassword"]["userErrors"] == []
        # then the server closes the socket with 4403 right away
        assert await closed_with(ws) == Closed(4403)


@pytest.mark.parametrize("revocation", ["revoked", "deactivated"])
async def test_operations_after_a_revocation_elsewhere_are_refused(
    app: Starlette, gql: GraphQLClient, revocation: str
) -> None:
    # given a socket whose session another process ends (no in-process notice, no re-check soon)
    runtime: Runtime = app.state.runtime
    session = await signed_up_session(gql, f"elsewhere-{revocation}@example.com")
    user_id = local_id(session["user"]["id"])
    before = await password_hash(runtime, user_id)
    async with open_socket(app, session["accessToken"]) as ws:
        assert data_of(await run(ws, "before", ME))
        if revocation == "revoked":
            await set_user(runtime, user_id, tokens_valid_after=datetime.now(UTC))
        else:
            await set_user(runtime, user_id, is_active=False)
        # when the socket keeps running queries and mutations
        secret = aws_secret()
        add = await run(
            ws, "add", ADD_CREDENTIAL, {"input": {"name": "stolen", "secret": secret.input}}
        )
        closed = await closed_with(ws)
        change = await run(
            ws,
            "change",
            CHANGE_PASSWORD,
            {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
        )
        me = await run(ws, "me", ME)
    # then each is refused, nothing was stored, and the socket was closed
    assert refused(add), add
    assert refused(change), change
    assert refused(me), me
    assert closed == Closed(4403)
    assert await credential_count(runtime, user_id) == 0
    assert await password_hash(runtime, user_id) == before


async def test_each_operation_runs_with_the_current_role(app: Starlette) -> None:
    # given an admin's socket
    runtime: Runtime = app.state.runtime
    admin = await create_user(runtime, role=Role.ADMIN)
    async with open_socket(app, access_token(runtime, admin)) as ws:
        assert data_of(await run(ws, "1", USERS)) == [{"users": {"totalCount": 1}}]
        # when the account is demoted directly in the database
        await set_user(runtime, admin.id, role=Role.USER)
        answers = await run(ws, "2", USERS)
    # then the next operation runs as a user: FORBIDDEN, no data
    assert not data_of(answers)
    errors = [
        e for a in answers if isinstance(a, dict) for e in a.get("payload", {}).get("errors", [])
    ]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], answers


@pytest.mark.parametrize("change", ["revoked", "deactivated", "role"])
async def test_the_recheck_closes_sockets_of_sessions_ended_elsewhere(
    database_url: str, tmp_path: Path, change: str
) -> None:
    # given a server re-checking sockets every 0.2 s, and a socket of a user
    app = served(database_url, tmp_path, recheck=0.2)
    runtime: Runtime = app.state.runtime
    user = await create_user(runtime)
    try:
        async with open_socket(app, access_token(runtime, user)) as ws:
            assert data_of(await run(ws, "1", ME))
            # when another process revokes, deactivates or promotes the account
            changes: dict[str, dict[str, Any]] = {
                "revoked": {"tokens_valid_after": datetime.now(UTC) + timedelta(seconds=1)},
                "deactivated": {"is_active": False},
                "role": {"role": Role.ADMIN},
            }
            values = changes[change]
            await set_user(runtime, user.id, **values)
            # then the socket is closed with 4403 without any further operation
            assert await closed_with(ws) == Closed(4403)
    finally:
        await runtime.close()


async def test_a_running_subscription_ends_when_the_session_is_revoked(
    app: Starlette, gql: GraphQLClient
) -> None:
    # given a sync job that stays queued, followed over a socket
    runtime: Runtime = app.state.runtime
    session = await signed_up_session(gql, "follower@example.com")
    user_id = local_id(session["user"]["id"])
    async with runtime.database.system_session() as db:
        owner = await db.get(UserRow, user_id)
    assert owner is not None
    credential = await create_credential(runtime.database, owner)
    (job,) = await runtime.sync.start([credential.id])
    async with open_socket(app, session["accessToken"]) as ws:
        variables = {"id": to_global_id("SyncJob", job.id)}
        assert await subscribe(ws, "follow", FOLLOW, variables)
        first = await receive(ws)
        assert isinstance(first, dict) and first["type"] == "next", first
        # when the user logs out everywhere over HTTP
        assert (await gql(LOG_OUT_ALL, token=session["accessToken"])).ok()
        # then the subscription gets an UNAUTHENTICATED error, then the socket closes
        ended = await receive(ws)
        closed = await closed_with(ws)
    assert isinstance(ended, dict), ended
    assert ended["id"] == "follow" and ended["type"] == "error"
    assert ended["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert closed == Closed(4403)


async def test_the_socket_closes_at_the_access_tokens_expiry(app: Starlette) -> None:
    # given a socket authenticated with a token that expires within two seconds
    runtime: Runtime = app.state.runtime
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    (job,) = await runtime.sync.start([credential.id])
    short = dataclasses.replace(runtime.signer, access_ttl=timedelta(seconds=2))
    token, _ = short.issue_access(user.id)
    expires_at = runtime.signer.verify_access(token).expires_at
    async with open_socket(app, token) as ws:
        assert await subscribe(ws, "follow", FOLLOW, {"id": to_global_id("SyncJob", job.id)})
        first = await receive(ws)
        assert isinstance(first, dict) and first["type"] == "next", first
        # when the token's exp passes (re-checks are minutes apart)
        ended = await receive(ws)
        closed = await closed_with(ws)
    # then the subscription ended with UNAUTHENTICATED and the socket closed with 4403, no later
    # than the expiry plus scheduling slack
    assert isinstance(ended, dict) and ended["type"] == "error", ended
    assert ended["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert closed == Closed(4403)
    assert datetime.now(UTC) >= expires_at


async def test_change_password_over_the_socket_delivers_its_fresh_session(
    app: Starlette, gql: GraphQLClient
) -> None:
    # given a socket of a session
    session = await signed_up_session(gql, "own-socket@example.com")
    async with open_socket(app, session["accessToken"]) as ws:
        # when the password is changed over that very socket
        variables = {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}
        answers = await run(ws, "change", CHANGE_PASSWORD, variables)
        closed = await closed_with(ws)
    # then the answer carries the fresh session before the old one's socket is closed
    (payload,) = data_of(answers)
    assert payload["changePassword"]["userErrors"] == []
    assert closed == Closed(4403)
    fresh = payload["changePassword"]["accessToken"]
    assert (await gql(ME, token=fresh)).ok()["me"]["email"] == "own-socket@example.com"
    assert (await gql(ME, token=session["accessToken"])).error_codes == ["UNAUTHENTICATED"]
