"""changePassword: verifies the current password, ends every other session and old access token."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from db.enums import AuditOutcome
from db.models import AuditEventRow, RefreshTokenRow
from graph.runtime import Runtime
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, log_in, refresh, signed_up_session

pytestmark = pytest.mark.usefixtures("fast_passwords")

NEW_PASSWORD = "Battery-Staple-77"
ME = "query { me { email } }"
CHANGE_PASSWORD = """
mutation ChangePassword($input: ChangePasswordInput!) {
  changePassword(input: $input) {
    accessToken refreshToken tokenType expiresIn
    user { email }
    userErrors { field code message }
  }
}
"""


async def change_password(
    gql: GraphQLClient, token: str | None, current: str, new: str
) -> dict[str, Any]:
    variables = {"input": {"currentPassword": current, "newPassword": new}}
    response = await gql(CHANGE_PASSWORD, variables, token=token)
    payload: dict[str, Any] = response.ok()["changePassword"]
    return payload


async def test_change_password_needs_authentication(gql: GraphQLClient) -> None:
    # when
    response = await gql(
        CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}
    )
    # then
    assert response.error_codes == ["UNAUTHENTICATED"]


async def test_change_password_revokes_everything_and_keeps_the_caller_in(
    gql: GraphQLClient,
) -> None:
    # given two sessions
    laptop = await signed_up_session(gql, "change@example.com")
    phone = await log_in(gql, "change@example.com")
    # when the laptop changes the password
    payload = await change_password(gql, laptop["accessToken"], PASSWORD, NEW_PASSWORD)
    # then the payload carries a fresh, working session
    assert payload["userErrors"] == []
    assert payload["tokenType"] == "bearer"
    fresh_access, fresh_refresh = payload["accessToken"], payload["refreshToken"]
    assert isinstance(fresh_access, str) and isinstance(fresh_refresh, str)
    assert (await gql(ME, token=fresh_access)).ok()["me"]["email"] == "change@example.com"
    assert (await refresh(gql, fresh_refresh))["userErrors"] == []
    # and every earlier access and refresh token is dead
    for old in (laptop, phone):
        assert (await gql(ME, token=old["accessToken"])).error_codes == ["UNAUTHENTICATED"]
        assert (await refresh(gql, old["refreshToken"]))["userErrors"][0]["code"] == (
            "INVALID_TOKEN"
        )
    # and only the new password logs in
    assert (await log_in(gql, "change@example.com"))["userErrors"][0]["code"] == (
        "INVALID_CREDENTIALS"
    )
    assert (await log_in(gql, "change@example.com", NEW_PASSWORD))["userErrors"] == []


async def test_wrong_current_password_changes_nothing(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    session = await signed_up_session(gql, "wrong-current@example.com")
    # when
    payload = await change_password(gql, session["accessToken"], "Wrong-Horse-42", NEW_PASSWORD)
    # then
    assert payload["userErrors"] == [
        {
            "field": ["input", "currentPassword"],
            "code": "INVALID_CREDENTIALS",
            "message": "The current password is incorrect.",
        }
    ]
    assert payload["accessToken"] is None
    assert (await gql(ME, token=session["accessToken"])).ok()["me"]
    assert (await log_in(gql, "wrong-current@example.com"))["userErrors"] == []
    async with runtime.database.system_session() as db:
        event = (
            await db.execute(
                select(AuditEventRow).where(
                    AuditEventRow.action == "password.change",
                    AuditEventRow.outcome == AuditOutcome.FAILURE,
                )
            )
        ).scalar_one()
    assert event.details == {"reason": "wrong_current_password"}


@pytest.mark.parametrize(
    ("new", "code"),
    [
        ("short1A", "TOO_SHORT"),
        ("Password123", "PASSWORD_TOO_WEAK"),
        ("alllowercase9", "PASSWORD_TOO_WEAK"),
        (PASSWORD, "INVALID"),
    ],
)
async def test_new_password_follows_the_policy(gql: GraphQLClient, new: str, code: str) -> None:
    # given
    session = await signed_up_session(gql, "policy@example.com")
    # when
    payload = await change_password(gql, session["accessToken"], PASSWORD, new)
    # then
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "newPassword"], code)
    ]
    assert (await gql(ME, token=session["accessToken"])).ok()["me"]


async def test_password_change_is_audited_and_recorded_as_a_new_session(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given
    session = await signed_up_session(gql, "audit-change@example.com")
    # when
    await change_password(gql, session["accessToken"], PASSWORD, NEW_PASSWORD)
    # then
    async with runtime.database.system_session() as db:
        events = list(
            (
                await db.execute(
                    select(AuditEventRow).where(AuditEventRow.action == "password.change")
                )
            ).scalars()
        )
        tokens = list((await db.execute(select(RefreshTokenRow))).scalars())
    assert [(e.outcome, e.ip) for e in events] == [(AuditOutcome.SUCCESS, "203.0.113.10")]
    live = [t for t in tokens if t.revoked_at is None]
    assert len(live) == 1 and len(tokens) == 2
