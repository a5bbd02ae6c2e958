"""No password or token ever reaches the audit trail, the token table or the logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from graph.runtime import Runtime
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, log_in, refresh, sign_up

pytestmark = pytest.mark.usefixtures("fast_passwords")

NEW_PASSWORD = "Battery-Staple-77"
WRONG_PASSWORD = "Wrong-Horse-42"
CHANGE_PASSWORD = """
mutation Change($input: ChangePasswordInput!) {
  changePassword(input: $input) { accessToken refreshToken userErrors { code } }
}
"""
LOG_OUT = """
mutation LogOut($input: LogOutInput!) { logOut(input: $input) { revokedSessions } }
"""


async def table_text(runtime: Runtime, table: str) -> str:
    """Every column of every row, as text, exactly as the database holds it."""
    async with runtime.database.system_session() as session:
        rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
    return "\n".join(repr(tuple(row)) for row in rows)


async def test_audit_trail_and_logs_hold_no_password_or_token(
    gql: GraphQLClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # given every account flow, successful and failed, with secrets we can search for
    await sign_up(gql, "secretive@example.com")
    await log_in(gql, "secretive@example.com", WRONG_PASSWORD)
    await log_in(gql, "nobody@example.com", PASSWORD)
    first = await log_in(gql, "secretive@example.com")
    second = await refresh(gql, first["refreshToken"])
    await refresh(gql, first["refreshToken"])  # reuse: revokes the family
    third = await log_in(gql, "secretive@example.com")
    wrong_change = {"currentPassword": WRONG_PASSWORD, "newPassword": NEW_PASSWORD}
    await gql(CHANGE_PASSWORD, {"input": wrong_change}, token=third["accessToken"])
    good_change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    changed = (await gql(CHANGE_PASSWORD, {"input": good_change}, token=third["accessToken"])).ok()[
        "changePassword"
    ]
    await gql(LOG_OUT, {"input": {"refreshToken": changed["refreshToken"], "allSessions": True}})
    secrets = {
        PASSWORD,
        NEW_PASSWORD,
        WRONG_PASSWORD,
        first["accessToken"],
        first["refreshToken"],
        second["accessToken"],
        second["refreshToken"],
        third["accessToken"],
        third["refreshToken"],
        changed["accessToken"],
        changed["refreshToken"],
    }
    assert all(isinstance(secret, str) and secret for secret in secrets)
    # when
    audit = await table_text(runtime, "audit_events")
    tokens = await table_text(runtime, "refresh_tokens")
    users = await table_text(runtime, "users")
    logs = "\n".join(record.getMessage() for record in caplog.records)
    # then the audit trail recorded every flow ...
    for action in ("signup", "login", "refresh_token.reuse", "password.change", "logout"):
        assert action in audit
    # ... and no secret appears anywhere, not even a token's signature part
    for secret in secrets:
        fragments = [secret, *[part for part in secret.split(".") if len(part) > 20]]
        for haystack in (audit, tokens, users, logs):
            assert not any(fragment in haystack for fragment in fragments)
