"""Attacks on the read fast path's caller cache: a token it once served must stop working the
moment its account is revoked, deactivated, deleted or changes role — also when another server
process writes the change (a direct database write here: no in-process notice reaches us)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, update
from starlette.applications import Starlette

from core.settings import Settings
from db.enums import Role
from db.models import UserRow
from graph.runtime import Runtime
from security.authentication import revocation_instants
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.inventory_factories import create_credential, create_resources
from tests.sessions import PASSWORD, signed_up_session
from tests.test_change_password import NEW_PASSWORD, change_password
from tests.test_fast_path_differential import Spy, graphql_view

PAGE = "{ resources(first: 10) { pageInfo { hasNextPage } edges { cursor node { id name } } } }"
Revoke = Callable[[Runtime, Any], Awaitable[None]]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, require_2fa_for_admins=True)


async def _write_user(runtime: Runtime, user_id: Any, **values: Any) -> None:
    async with runtime.database.system_session() as session:
        await session.execute(update(UserRow).where(UserRow.id == user_id).values(**values))


async def revoke_sessions(runtime: Runtime, user: Any) -> None:
    # What logOut(allSessions), changePassword and an admin's revocation write.
    cutoff, _ = revocation_instants(datetime.now(UTC))
    await _write_user(runtime, user.id, tokens_valid_after=cutoff)


async def deactivate(runtime: Runtime, user: Any) -> None:
    await _write_user(runtime, user.id, is_active=False)


async def promote_without_totp(runtime: Runtime, user: Any) -> None:
    await _write_user(runtime, user.id, role=Role.ADMIN)


async def delete_account(runtime: Runtime, user: Any) -> None:
    async with runtime.database.system_session() as session:
        await session.execute(delete(UserRow).where(UserRow.id == user.id))


async def _page(http: httpx.AsyncClient, token: str, query: str = PAGE) -> httpx.Response:
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    return await http.post("/graphql", json={"query": query}, headers=headers)


@pytest.mark.parametrize(
    ("revoke", "code"),
    [
        (revoke_sessions, "UNAUTHENTICATED"),
        (deactivate, "UNAUTHENTICATED"),
        (delete_account, "UNAUTHENTICATED"),
        (promote_without_totp, "FORBIDDEN"),
    ],
)
async def test_a_token_the_fast_path_served_is_refused_at_once_after_a_change_elsewhere(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime, revoke: Revoke, code: str
) -> None:
    # given a user whose page the fast path has served (its token and role now remembered)
    owner = await create_user(runtime)
    await create_resources(runtime, await create_credential(runtime, owner), 3)
    token = access_token(runtime, owner)
    spy = Spy(graphql_view(app))
    served = await _page(http, token)
    assert len(served.json()["data"]["resources"]["edges"]) == 3
    assert spy.served == [True]
    # when another process changes the account (no notice reaches this one)
    await revoke(runtime, owner)
    # then the very next request with the same token gets no inventory
    refused = await _page(http, token)
    body = refused.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    assert spy.served == [True, False]


async def test_log_out_everywhere_ends_the_fast_path_for_old_access_tokens(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a signed-up user's session, served by the fast path
    session = await signed_up_session(gql, "fast-logout@example.com")
    spy = Spy(graphql_view(app))
    assert (await _page(http, session["accessToken"])).json()["data"] is not None
    # when the user logs out of every session
    log_out = "mutation($i: LogOutInput!) { logOut(input: $i) { revokedSessions } }"
    variables = {"i": {"refreshToken": session["refreshToken"], "allSessions": True}}
    assert (await gql(log_out, variables, token=session["accessToken"])).ok()
    # then the old access token reads nothing
    body = (await _page(http, session["accessToken"])).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert spy.served[0] is True and spy.served[-1] is False


async def test_a_password_change_ends_the_fast_path_for_other_access_tokens(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a user with a session the fast path serves
    session = await signed_up_session(gql, "fast-password@example.com")
    old = session["accessToken"]
    spy = Spy(graphql_view(app))
    assert (await _page(http, old)).json()["data"] is not None
    # when the password is changed
    changed = await change_password(gql, old, PASSWORD, NEW_PASSWORD)
    assert changed["userErrors"] == []
    # then the old token is refused, and the new one is served by the fast path
    body = (await _page(http, old)).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await _page(http, changed["accessToken"])).json()["data"] is not None
    assert spy.served[0] is True and spy.served[-2:] == [False, True]


async def test_another_users_cursor_is_refused_like_any_forged_cursor(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a cursor of one user's page
    alice, mallory = await create_user(runtime), await create_user(runtime)
    await create_resources(runtime, await create_credential(runtime, alice), 3)
    cursor = (await _page(http, access_token(runtime, alice))).json()["data"]["resources"]["edges"][
        0
    ]["cursor"]
    spy = Spy(graphql_view(app))
    # when another user pages with it
    query = f'{{ resources(after: "{cursor}") {{ edges {{ node {{ id }} }} }} }}'
    body = (await _page(http, access_token(runtime, mallory), query)).json()
    # then it is a bad request, answered by the regular path
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert spy.served == [False]
