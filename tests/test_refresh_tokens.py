"""refreshToken rotation, reuse detection, expiry, and logOut of one or all sessions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from db.enums import AuditOutcome
from db.models import AuditEventRow, RefreshTokenRow, UserRow
from graph.runtime import Runtime
from tests.graphql_client import GraphQLClient
from tests.sessions import log_in, refresh, signed_up_session

pytestmark = pytest.mark.usefixtures("fast_passwords")

ME = "query { me { email } }"
LOG_OUT = """
mutation LogOut($input: LogOutInput!) {
  logOut(input: $input) { revokedSessions userErrors { field code message } }
}
"""
INVALID_TOKEN = {
    "field": ["input", "refreshToken"],
    "code": "INVALID_TOKEN",
    "message": "The refresh token is unknown, expired or revoked. Log in again.",
}


async def log_out(
    gql: GraphQLClient,
    refresh_token: str | None,
    *,
    all_sessions: bool = False,
    token: str | None = None,
) -> dict[str, object]:
    variables = {"input": {"refreshToken": refresh_token, "allSessions": all_sessions}}
    payload: dict[str, object] = (await gql(LOG_OUT, variables, token=token)).ok()["logOut"]
    return payload


async def token_rows(runtime: Runtime) -> list[RefreshTokenRow]:
    async with runtime.database.system_session() as session:
        query = select(RefreshTokenRow).order_by(RefreshTokenRow.created_at)
        return list((await session.execute(query)).scalars())


async def test_refresh_rotates_within_the_same_family(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    first = await signed_up_session(gql, "rotate@example.com")
    # when
    second = await refresh(gql, first["refreshToken"])
    # then a new pair is issued and works
    assert second["userErrors"] == []
    assert second["refreshToken"] != first["refreshToken"]
    assert second["tokenType"] == "bearer"
    assert (await gql(ME, token=second["accessToken"])).ok()["me"]["email"] == "rotate@example.com"
    old, new = await token_rows(runtime)
    assert old.family_id == new.family_id
    assert old.used_at is not None and new.used_at is None
    # and the newest token rotates again
    assert (await refresh(gql, second["refreshToken"]))["userErrors"] == []


async def test_reusing_a_used_token_revokes_the_whole_family(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a token that was rotated (an attacker kept a copy)
    first = await signed_up_session(gql, "reuse@example.com")
    second = await refresh(gql, first["refreshToken"])
    # when the old copy comes back
    replay = await refresh(gql, first["refreshToken"])
    # then it is refused, and the legitimate newest token is dead too
    assert replay["userErrors"] == [INVALID_TOKEN]
    assert replay["accessToken"] is None
    assert (await refresh(gql, second["refreshToken"]))["userErrors"] == [INVALID_TOKEN]
    assert all(row.revoked_at is not None for row in await token_rows(runtime))
    # and the reuse is audited for the account
    async with runtime.database.system_session() as session:
        events = list(
            (
                await session.execute(
                    select(AuditEventRow).where(AuditEventRow.action == "refresh_token.reuse")
                )
            ).scalars()
        )
    assert len(events) >= 1
    assert events[0].outcome is AuditOutcome.FAILURE
    assert events[0].user_id is not None
    assert events[0].ip == "203.0.113.10"


async def test_reuse_leaves_other_sessions_alone(gql: GraphQLClient) -> None:
    # given two sessions of one account
    laptop = await signed_up_session(gql, "two@example.com")
    phone = await log_in(gql, "two@example.com")
    await refresh(gql, laptop["refreshToken"])
    # when the laptop's old token is replayed
    await refresh(gql, laptop["refreshToken"])
    # then the phone's session still works
    assert (await refresh(gql, phone["refreshToken"]))["userErrors"] == []


@pytest.mark.parametrize("presented", ["", "made-up-token", "x" * 500])
async def test_unknown_refresh_token_is_refused(gql: GraphQLClient, presented: str) -> None:
    # when
    payload = await refresh(gql, presented)
    # then
    assert payload["userErrors"] == [INVALID_TOKEN]


async def test_access_token_is_not_a_refresh_token(gql: GraphQLClient) -> None:
    # given
    session = await signed_up_session(gql, "mixup@example.com")
    # when
    payload = await refresh(gql, session["accessToken"])
    # then
    assert payload["userErrors"] == [INVALID_TOKEN]


async def test_expired_refresh_token_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a token whose lifetime is over
    session = await signed_up_session(gql, "expired@example.com")
    async with runtime.database.system_session() as db:
        await db.execute(
            update(RefreshTokenRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    # when
    payload = await refresh(gql, session["refreshToken"])
    # then it is refused without being treated as a reuse
    assert payload["userErrors"] == [INVALID_TOKEN]
    (row,) = await token_rows(runtime)
    assert row.used_at is None and row.revoked_at is None


async def test_refresh_for_a_deactivated_user_is_refused(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given
    session = await signed_up_session(gql, "deactivated@example.com")
    async with runtime.database.system_session() as db:
        await db.execute(update(UserRow).values(is_active=False))
    # when
    payload = await refresh(gql, session["refreshToken"])
    # then
    assert payload["userErrors"] == [INVALID_TOKEN]


async def test_concurrent_rotations_of_one_token_issue_one_pair(gql: GraphQLClient) -> None:
    # given
    session = await signed_up_session(gql, "race@example.com")
    # when the same token is presented twice at once
    results = await asyncio.gather(
        refresh(gql, session["refreshToken"]), refresh(gql, session["refreshToken"])
    )
    # then at most one succeeds (the loser is a reuse, which ends the session)
    successes = [r for r in results if not r["userErrors"]]
    assert len(successes) <= 1
    assert [r["userErrors"] for r in results].count([INVALID_TOKEN]) >= 1


async def test_log_out_ends_one_session(gql: GraphQLClient) -> None:
    # given two sessions
    laptop = await signed_up_session(gql, "bye@example.com")
    phone = await log_in(gql, "bye@example.com")
    # when the laptop logs out
    payload = await log_out(gql, laptop["refreshToken"])
    # then only the laptop's refresh token is dead
    assert payload == {"revokedSessions": 1, "userErrors": []}
    assert (await refresh(gql, laptop["refreshToken"]))["userErrors"] == [INVALID_TOKEN]
    assert (await refresh(gql, phone["refreshToken"]))["userErrors"] == []


async def test_log_out_everywhere_ends_sessions_and_access_tokens(gql: GraphQLClient) -> None:
    # given two sessions
    laptop = await signed_up_session(gql, "everywhere@example.com")
    phone = await log_in(gql, "everywhere@example.com")
    # when
    payload = await log_out(gql, laptop["refreshToken"], all_sessions=True)
    # then
    assert payload == {"revokedSessions": 2, "userErrors": []}
    for session in (laptop, phone):
        assert (await refresh(gql, session["refreshToken"]))["userErrors"] == [INVALID_TOKEN]
        assert (await gql(ME, token=session["accessToken"])).error_codes == ["UNAUTHENTICATED"]


async def test_log_out_everywhere_with_only_an_access_token(gql: GraphQLClient) -> None:
    # given
    session = await signed_up_session(gql, "bearer-only@example.com")
    # when
    payload = await log_out(gql, None, all_sessions=True, token=session["accessToken"])
    # then
    assert payload == {"revokedSessions": 1, "userErrors": []}
    assert (await refresh(gql, session["refreshToken"]))["userErrors"] == [INVALID_TOKEN]
    # and a new log-in works again
    again = await log_in(gql, "bearer-only@example.com")
    assert (await gql(ME, token=again["accessToken"])).ok()["me"]


async def test_log_out_refuses_unknown_or_missing_tokens(gql: GraphQLClient) -> None:
    # when nothing identifies a session
    missing = await log_out(gql, None)
    unknown = await log_out(gql, "made-up-token")
    # then a missing token is asked for, an unknown one refused
    assert missing["revokedSessions"] == 0
    errors: Any = missing["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "refreshToken"], "REQUIRED")]
    assert unknown == {"revokedSessions": 0, "userErrors": [INVALID_TOKEN]}


async def test_log_out_refuses_another_users_token(gql: GraphQLClient) -> None:
    # given two accounts
    alice = await signed_up_session(gql, "alice@example.com")
    bob = await signed_up_session(gql, "bob@example.com")
    # when alice presents bob's refresh token
    payload = await log_out(gql, bob["refreshToken"], all_sessions=True, token=alice["accessToken"])
    # then nothing happens to bob
    assert payload["userErrors"] == [INVALID_TOKEN]
    assert (await refresh(gql, bob["refreshToken"]))["userErrors"] == []


async def test_log_out_is_audited(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    session = await signed_up_session(gql, "audited-bye@example.com")
    # when
    await log_out(gql, session["refreshToken"])
    # then
    async with runtime.database.system_session() as db:
        event = (
            await db.execute(select(AuditEventRow).where(AuditEventRow.action == "logout"))
        ).scalar_one()
    assert event.outcome is AuditOutcome.SUCCESS
    assert event.details == {"all_sessions": False, "revoked_sessions": 1}
    assert event.ip == "203.0.113.10"
