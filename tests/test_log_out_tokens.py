"""logOut takes only a live refresh token; dead ones are purged on a schedule; no input of logOut
reaches an `assert`. Attack tests: before the fix an old (used, revoked or expired) refresh token
still ended its owner's current sessions, and `logOut(input: {})` with an access token was an
INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from db.models import RefreshTokenRow
from graph.runtime import Runtime
from security import refresh_tokens
from security.token_purge import RefreshTokenPurge
from tests.graphql_client import GraphQLClient
from tests.sessions import log_in, refresh, signed_up_session

pytestmark = pytest.mark.usefixtures("fast_passwords")

ME = "query { me { email } }"
LOG_OUT = """
mutation LogOut($input: LogOutInput!) {
  logOut(input: $input) { revokedSessions userErrors { field code } }
}
"""


async def log_out(gql: GraphQLClient, input: dict[str, Any], token: str | None = None) -> Any:
    result = await gql(LOG_OUT, {"input": input}, token=token)
    return result.ok()["logOut"]


async def expire(runtime: Runtime, token: str) -> None:
    async with runtime.database.system_session() as session:
        await session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.token_hash == refresh_tokens.digest(token))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def token_count(runtime: Runtime) -> int:
    async with runtime.database.system_session() as session:
        return int(await session.scalar(select(func.count()).select_from(RefreshTokenRow)) or 0)


@pytest.mark.parametrize("how", ["used", "revoked", "expired"])
async def test_a_dead_refresh_token_cannot_end_current_sessions(
    gql: GraphQLClient, runtime: Runtime, how: str
) -> None:
    # given an old refresh token an attacker kept, and the victim's current sessions
    email = f"victim-{how}@example.com"
    first = await signed_up_session(gql, email)
    old = first["refreshToken"]
    if how == "used":
        current = await refresh(gql, old)  # rotated: the old one is used, its successor live
    elif how == "revoked":
        assert (await log_out(gql, {"refreshToken": old}))["revokedSessions"] == 1
        current = await log_in(gql, email)
    else:
        await expire(runtime, old)
        current = await log_in(gql, email)
    other = await log_in(gql, email)
    # when the attacker logs out with the old token, for all sessions
    answer = await log_out(gql, {"refreshToken": old, "allSessions": True})
    # then it is refused and the victim's sessions and access tokens all still work
    assert answer == {
        "revokedSessions": 0,
        "userErrors": [{"field": ["input", "refreshToken"], "code": "INVALID_TOKEN"}],
    }
    for session in (current, other):
        assert (await gql(ME, token=session["accessToken"])).ok()["me"]["email"] == email
    assert (await refresh(gql, other["refreshToken"]))["userErrors"] == []


async def test_log_out_without_a_token_or_all_sessions_is_a_user_error(
    gql: GraphQLClient,
) -> None:
    # given a logged-in caller
    session = await signed_up_session(gql, "empty-input@example.com")
    # when it sends logOut(input: {}) with its access token, and anonymously
    with_access = await gql(LOG_OUT, {"input": {}}, token=session["accessToken"])
    anonymous = await gql("mutation { logOut(input: {}) { revokedSessions userErrors { code } } }")
    # then both get a REQUIRED user error, nothing is revoked, and the session still works
    assert with_access.ok()["logOut"] == {
        "revokedSessions": 0,
        "userErrors": [{"field": ["input", "refreshToken"], "code": "REQUIRED"}],
    }
    assert anonymous.ok()["logOut"] == {"revokedSessions": 0, "userErrors": [{"code": "REQUIRED"}]}
    assert (await refresh(gql, session["refreshToken"]))["userErrors"] == []


async def test_dead_refresh_tokens_are_purged(gql: GraphQLClient, runtime: Runtime) -> None:
    # given live, used, revoked-long-ago and expired tokens
    email = "purge@example.com"
    first = await signed_up_session(gql, email)
    live = await refresh(gql, first["refreshToken"])  # `first` is now used (kept: reuse check)
    revoked = await log_in(gql, email)
    assert (await log_out(gql, {"refreshToken": revoked["refreshToken"]}))["revokedSessions"] == 1
    expired = await log_in(gql, email)
    await expire(runtime, expired["refreshToken"])
    long_ago = datetime.now(UTC) - refresh_tokens.REVOKED_RETENTION - timedelta(minutes=1)
    async with runtime.database.system_session() as session:
        await session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.token_hash == refresh_tokens.digest(revoked["refreshToken"]))
            .values(revoked_at=long_ago)
        )
    assert await token_count(runtime) == 4
    # when the purge runs
    purged = await RefreshTokenPurge(runtime.database).run_once()
    # then the expired and the long-revoked rows are gone; the live and the used one remain
    assert purged == 2
    async with runtime.database.system_session() as session:
        hashes = set((await session.scalars(select(RefreshTokenRow.token_hash))).all())
    kept = (first["refreshToken"], live["refreshToken"])
    assert hashes == {refresh_tokens.digest(token) for token in kept}
    # and reuse of the kept used token is still detected: it ends the live session too
    assert (await refresh(gql, first["refreshToken"]))["userErrors"][0]["code"] == "INVALID_TOKEN"
    assert (await refresh(gql, live["refreshToken"]))["userErrors"][0]["code"] == "INVALID_TOKEN"


async def test_every_server_purges_on_a_schedule(app: Starlette, runtime: Runtime) -> None:
    # given the app's lifespan
    purge: RefreshTokenPurge = app.state.token_purge
    ran = asyncio.Event()
    original = purge.run_once

    async def observed() -> int:
        ran.set()
        return await original()

    purge.run_once = observed  # type: ignore[method-assign]
    # when the server starts
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(ran.wait(), 10)
        running = purge._task is not None and not purge._task.done()
    # then the purge ran at start and stayed scheduled until the server stopped
    assert running
    assert purge._task is None
