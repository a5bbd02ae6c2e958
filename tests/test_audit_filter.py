"""`auditEvents(filter: …)` and `AuditEvent.actor`: filters by action, outcome, time and user
(admins only, for other users), actors shown to admins and to the users themselves only, and a
page with actors costs the same number of statements for 1 or 50 events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db.enums import Role
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sessions import log_in, signed_up_session
from tests.statement_counter import counting_statements

pytestmark = pytest.mark.usefixtures("fast_passwords")

AUDIT = """
query Audit($filter: AuditEventFilter, $first: Int) {
  auditEvents(first: $first, filter: $filter) {
    totalCount
    edges { node { action outcome createdAt actor { email } } }
  }
}
"""
SET_ACTIVE = """
mutation SetActive($input: SetUserActiveInput!) {
  setUserActive(input: $input) { userErrors { code } }
}
"""


async def events(
    gql: GraphQLClient, token: str, first: int = 50, **filter: Any
) -> list[dict[str, Any]]:
    result = await gql(AUDIT, {"filter": filter or None, "first": first}, token=token)
    return [edge["node"] for edge in result.ok()["auditEvents"]["edges"]]


async def test_filters_by_action_outcome_and_time(gql: GraphQLClient) -> None:
    # given an account with a sign-up, two refused log-ins and a successful one
    session = await signed_up_session(gql, "filtered@example.com")
    for _ in range(2):
        await log_in(gql, "filtered@example.com", "Wrong-Password-9")
    token = session["accessToken"]
    everything = await events(gql, token)
    assert {e["action"] for e in everything} == {"signup", "login"}
    # when filtered by action and outcome
    refused = await events(gql, token, action=["login"], outcome="FAILURE")
    assert [(e["action"], e["outcome"]) for e in refused] == [("login", "FAILURE")] * 2
    assert [e["action"] for e in await events(gql, token, action=["signup"])] == ["signup"]
    # and by time: `since` includes, `until` excludes
    oldest = everything[-1]["createdAt"]
    later = datetime.fromisoformat(oldest) + timedelta(microseconds=1)
    assert len(await events(gql, token, since=oldest)) == len(everything)
    assert await events(gql, token, until=oldest) == []
    assert len(await events(gql, token, until=later.isoformat())) == 1
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await events(gql, token, since=future) == []


async def test_actors_name_who_acted_and_only_admins_see_others(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a user who logged in, was guessed at, and was deactivated and reactivated by an admin
    session = await signed_up_session(gql, "subject@example.com")
    await log_in(gql, "subject@example.com", "Wrong-Password-9")
    admin = await create_user(runtime, "boss@example.com", role=Role.ADMIN)
    root = access_token(runtime, admin)
    user_id = session["user"]["id"]
    for active in (False, True):
        variables = {"input": {"id": user_id, "active": active}}
        assert (await gql(SET_ACTIVE, variables, token=root)).ok()
    token = (await log_in(gql, "subject@example.com"))["accessToken"]
    # then the admin sees every actor: the user, nobody for the guess, the admin for its actions
    seen = await events(gql, root, userId=user_id)
    actors = {(e["action"], e["outcome"]): (e["actor"] or {}).get("email") for e in seen}
    assert actors[("signup", "SUCCESS")] == "subject@example.com"
    assert actors[("login", "FAILURE")] is None
    assert actors[("admin.user.deactivate", "SUCCESS")] == "boss@example.com"
    # and the user sees the same events, with themselves as actor but never the admin
    own = await events(gql, token)
    assert {e["action"] for e in own} == {e["action"] for e in seen}
    mine = {(e["action"], (e["actor"] or {}).get("email")) for e in own}
    assert ("admin.user.deactivate", None) in mine
    assert ("signup", "subject@example.com") in mine
    assert all(email != "boss@example.com" for _, email in mine)


async def test_user_id_is_for_admins_unless_it_is_your_own(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    me = await signed_up_session(gql, "curious@example.com")
    other = await create_user(runtime, "private@example.com")
    token = me["accessToken"]
    foreign = await gql(AUDIT, {"filter": {"userId": to_global_id("User", other.id)}}, token=token)
    assert foreign.error_codes == ["FORBIDDEN"] and foreign.data is None
    own = await events(gql, token, userId=me["user"]["id"])
    assert [e["action"] for e in own] == ["login", "signup"]


@pytest.mark.parametrize(
    "bad",
    [
        {"userId": "not-an-id"},
        {"since": "2026-01-01T00:00:00"},
        {"action": ["login"] * 51},
    ],
    ids=["malformed-user-id", "naive-time", "too-many-actions"],
)
async def test_bad_filters_are_bad_requests(
    gql: GraphQLClient, runtime: Runtime, bad: dict[str, Any]
) -> None:
    admin = await create_user(runtime, role=Role.ADMIN)
    result = await gql(AUDIT, {"filter": bad}, token=access_token(runtime, admin))
    assert result.error_codes == ["BAD_REQUEST"], result.errors


@pytest.mark.parametrize("users", [1, 25])
async def test_a_page_with_actors_costs_constant_statements(
    gql: GraphQLClient, runtime: Runtime, backend: str, users: int
) -> None:
    # given `users` accounts with two events each, listed by an admin with their actors
    for index in range(users):
        await signed_up_session(gql, f"counted-{index}@example.com")
    admin = await create_user(runtime, role=Role.ADMIN)
    token = access_token(runtime, admin)
    with counting_statements(runtime) as counter:
        result = await gql(AUDIT, {"first": 100}, token=token)
    assert result.ok()["auditEvents"]["totalCount"] == 2 * users
    # then: auth, page, one actor batch, count; PostgreSQL adds one set_config each
    assert counter.count == (4 if backend == "sqlite" else 8), counter.statements
