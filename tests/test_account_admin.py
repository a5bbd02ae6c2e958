"""Administrators' control of accounts: deactivation and role changes act at once on every HTTP
and WebSocket session of the account; the last active admin stays; every action is audited with
its actor; IDs that are not users are NOT_FOUND. REQUIRE_2FA_FOR_ADMINS holds admins without
two-factor log-in to enrolling.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.settings import Settings
from db.enums import Role
from db.models import UserRow
from graph.app import create_app
from graph.node import to_global_id
from graph.runtime import Runtime
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, log_in, refresh, signed_up_session
from tests.two_factor_support import Clock, complete, enrol, install_clock
from tests.two_factor_support import log_in as log_in_two_step
from tests.websocket_sessions import Closed, closed_with, data_of, open_socket, run

pytestmark = pytest.mark.usefixtures("fast_passwords")

ME = "query { me { email role } }"
USERS = "query { users(first: 5) { totalCount } }"
SET_ACTIVE = """
mutation SetActive($input: SetUserActiveInput!) {
  setUserActive(input: $input) { user { id isActive } userErrors { field code message } }
}
"""
SET_ROLE = """
mutation SetRole($input: SetUserRoleInput!) {
  setUserRole(input: $input) { user { id role } userErrors { field code message } }
}
"""
RESET_TOTP = """
mutation Reset($input: ResetUserTotpInput!) {
  resetUserTotp(input: $input) { user { id totpEnabled } userErrors { field code message } }
}
"""
AUDIT = """
query Audit($filter: AuditEventFilter) {
  auditEvents(first: 20, filter: $filter) {
    edges { node { action outcome actor { email } details } }
  }
}
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Re-checks are minutes apart: only the in-process notice can close a socket at once.
    return make_settings(database_url, tmp_path, websocket_recheck_seconds=300)


async def admin_token(runtime: Runtime, email: str = "root@example.com") -> tuple[UserRow, str]:
    admin = await create_user(runtime, email, role=Role.ADMIN)
    return admin, access_token(runtime, admin)


async def call(gql: GraphQLClient, query: str, token: str, **input: Any) -> dict[str, Any]:
    data = (await gql(query, {"input": input}, token=token)).ok()
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def test_deactivation_ends_every_http_and_websocket_session_at_once(
    app: Starlette, gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a user with an HTTP session and an open WebSocket, and an admin
    _, root = await admin_token(runtime)
    session = await signed_up_session(gql, "mallory@example.com")
    user_id = session["user"]["id"]
    async with open_socket(app, session["accessToken"]) as ws:
        assert data_of(await run(ws, "before", ME))
        # when the admin deactivates the account
        done = await call(gql, SET_ACTIVE, root, id=user_id, active=False)
        assert done["userErrors"] == [] and done["user"]["isActive"] is False
        # then the socket closes at once
        assert await closed_with(ws) == Closed(4403)
    # and the access token, the refresh token and the password stop working
    assert (await gql(ME, token=session["accessToken"])).error_codes == ["UNAUTHENTICATED"]
    assert (await refresh(gql, session["refreshToken"]))["accessToken"] is None
    assert (await log_in(gql, "mallory@example.com"))["accessToken"] is None
    # and the audit trail names the admin as actor and the user as subject
    audit = (
        await gql(
            AUDIT,
            {"filter": {"action": ["admin.user.deactivate"], "userId": user_id}},
            token=root,
        )
    ).ok()["auditEvents"]["edges"]
    assert [e["node"]["actor"]["email"] for e in audit] == ["root@example.com"]
    assert audit[0]["node"]["details"]["target_email"] == "mallory@example.com"
    # when it is reactivated, the password works again (old sessions stay ended)
    await call(gql, SET_ACTIVE, root, id=user_id, active=True)
    assert (await log_in(gql, "mallory@example.com"))["accessToken"]
    assert (await refresh(gql, session["refreshToken"]))["accessToken"] is None


async def test_a_role_change_applies_to_open_sessions_at_once(
    app: Starlette, gql: GraphQLClient, runtime: Runtime
) -> None:
    _, root = await admin_token(runtime)
    session = await signed_up_session(gql, "promoted@example.com")
    token, user_id = session["accessToken"], session["user"]["id"]
    assert (await gql(USERS, token=token)).error_codes == ["FORBIDDEN"]
    async with open_socket(app, token) as ws:
        # when promoted, the same HTTP token is an admin's at once
        promoted = await call(gql, SET_ROLE, root, id=user_id, role="ADMIN")
        assert promoted["user"]["role"] == "ADMIN"
        assert (await gql(USERS, token=token)).ok()["users"]["totalCount"] == 2
        # and the socket authorized for the old role is closed
        assert await closed_with(ws) == Closed(4403)
    await call(gql, SET_ROLE, root, id=user_id, role="USER")
    assert (await gql(USERS, token=token)).error_codes == ["FORBIDDEN"]


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    root, token = await admin_token(runtime)
    root_id = to_global_id("User", root.id)
    for query, change in ((SET_ACTIVE, {"active": False}), (SET_ROLE, {"role": "USER"})):
        refused = await call(gql, query, token, id=root_id, **change)
        assert [e["code"] for e in refused["userErrors"]] == ["LAST_ADMIN"]
        assert refused["user"] is None
    assert (await gql(USERS, token=token)).ok()["users"]["totalCount"] == 1
    # with a second active admin, the first may step down
    await create_user(runtime, "second@example.com", role=Role.ADMIN)
    stepped_down = await call(gql, SET_ROLE, token, id=root_id, role="USER")
    assert stepped_down["userErrors"] == [] and stepped_down["user"]["role"] == "USER"


async def test_an_inactive_admin_does_not_count_as_the_other_admin(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    root, token = await admin_token(runtime)
    await create_user(runtime, "dormant@example.com", role=Role.ADMIN, is_active=False)
    refused = await call(gql, SET_ROLE, token, id=to_global_id("User", root.id), role="USER")
    assert [e["code"] for e in refused["userErrors"]] == ["LAST_ADMIN"]


@pytest.mark.parametrize(
    "target",
    [
        to_global_id("CloudCredential", uuid.uuid4()),
        to_global_id("User", uuid.uuid4()),
        "not-an-id",
        "",
    ],
    ids=["other-type", "unknown-user", "malformed", "empty"],
)
async def test_an_id_that_is_not_a_user_is_not_found(
    gql: GraphQLClient, runtime: Runtime, target: str
) -> None:
    _, token = await admin_token(runtime)
    for query, change in (
        (SET_ACTIVE, {"active": False}),
        (SET_ROLE, {"role": "ADMIN"}),
        (RESET_TOTP, {}),
    ):
        result = await gql(query, {"input": {"id": target, **change}}, token=token)
        payload = next(iter(result.ok().values()))
        assert payload["user"] is None
        assert payload["userErrors"] == [
            {"field": ["input", "id"], "code": "NOT_FOUND", "message": "No such user."}
        ]


async def test_account_control_is_for_admins_only(gql: GraphQLClient, runtime: Runtime) -> None:
    session = await signed_up_session(gql, "user@example.com")
    victim = await create_user(runtime, "victim@example.com")
    victim_id = to_global_id("User", victim.id)
    for token, code in ((session["accessToken"], "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        result = await gql(SET_ACTIVE, {"input": {"id": victim_id, "active": False}}, token=token)
        assert result.error_codes == [code] and result.data is None


async def test_reset_totp_lets_the_user_log_in_with_the_password(
    gql: GraphQLClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock: Clock = install_clock(monkeypatch)
    _, root = await admin_token(runtime)
    session = await signed_up_session(gql, "lost-phone@example.com")
    await enrol(gql, session["accessToken"], clock)
    assert (await log_in_two_step(gql, "lost-phone@example.com"))["mfaRequired"] is True
    reset = await call(gql, RESET_TOTP, root, id=session["user"]["id"])
    assert reset["userErrors"] == [] and reset["user"]["totpEnabled"] is False
    assert (await log_in(gql, "lost-phone@example.com"))["accessToken"]


async def test_admins_without_two_factor_are_held_to_enrolling(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given REQUIRE_2FA_FOR_ADMINS and an admin without two-factor log-in
    application = create_app(make_settings(database_url, tmp_path, require_2fa_for_admins=True))
    runtime: Runtime = application.state.runtime
    runtime.passwords.close()
    runtime.passwords = PasswordHasher.fast_for_tests()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql = GraphQLClient(http)
            password_hash = await runtime.passwords.hash(PASSWORD)
            await create_user(
                runtime, "boss@example.com", role=Role.ADMIN, password_hash=password_hash
            )
            token = (await log_in(gql, "boss@example.com"))["accessToken"]
            # when it asks for anything but enrolling, it is refused with the reason
            for query in (USERS, "{ credentials { id } }", "{ auditEvents { totalCount } }"):
                refused = await gql(query, token=token)
                assert refused.error_codes == ["FORBIDDEN"], query
                assert refused.errors[0]["extensions"]["reason"] == "TOTP_REQUIRED"
            node = await gql('{ node(id: "eA") { id } }', token=token)
            assert node.errors[0]["extensions"]["reason"] == "TOTP_REQUIRED"
            # and `me` and the setup work
            assert (await gql(ME, token=token)).ok()["me"]["role"] == "ADMIN"
            clock = install_clock(monkeypatch)
            app, _ = await enrol(gql, token, clock)
            # then, after logging in with the second factor, everything is open
            pending = (await log_in_two_step(gql, "boss@example.com"))["mfaToken"]
            fresh = (await complete(gql, pending, code=app.code()))["accessToken"]
            assert (await gql(USERS, token=fresh)).ok()["users"]["totalCount"] == 1
            # a regular user is never held back
            await signed_up_session(gql, "worker@example.com")
            worker = (await log_in(gql, "worker@example.com"))["accessToken"]
            assert (await gql("{ credentials { id } }", token=worker)).ok() == {"credentials": []}
    finally:
        await runtime.close()
