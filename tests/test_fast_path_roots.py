"""The fast path's `dashboard` and `credentials` roots answer byte for byte what graphql-core
answers, and refuse what it refuses: a generated corpus run with the fast path on and off, then
attacks — a change to the account between two requests, another user's data, another
credential's or a forged cursor in a nested page."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from core.settings import Settings
from db.enums import AuditOutcome, HealthStatus, Provider, SyncJobStatus
from db.models import SyncJobRow
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.fast_path_corpus import Operation
from tests.fast_path_roots_corpus import roots_operation
from tests.inventory_factories import (
    BASE_TIME,
    create_audit_event,
    create_credential,
    create_sync_job,
)
from tests.test_fast_path_differential import Spy, _same, collect_cursors, graphql_view, post
from tests.test_fast_path_differential import seed_inventory as seed_resources
from tests.test_fast_path_sessions import (
    deactivate,
    delete_account,
    promote_without_totp,
    revoke_sessions,
)

OPERATIONS = 160


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, require_2fa_for_admins=True)


SEED = 20261214
NESTED = """{ credentials { id name resourceCount lastSync { id status }
  resources(first: 2) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name } } } } }"""
DASHBOARD = """{ dashboard { totalResources estimatedMonthlyCost lastUpdated
  providerBreakdown { provider count } regionDistribution { region count }
  accounts { account count } providerHealth { credential { id name } health { status } }
  recentActivity(limit: 5) { kind at summary } } }"""


async def seed(runtime: Runtime) -> tuple[Any, Any, list[str]]:
    """The resources corpus's inventory, plus sync jobs (with errors and warnings), audit
    events, an empty credential, and another user with data of its own."""
    owner, credential_ids = await seed_resources(runtime)
    await create_credential(runtime, owner, "zz-empty", provider=Provider.AZURE)
    credentials = await _credentials(runtime, owner)
    for index, credential in enumerate(credentials[:2]):
        for status in (SyncJobStatus.FAILED, SyncJobStatus.SUCCEEDED, SyncJobStatus.RUNNING):
            job = await create_sync_job(
                runtime,
                credential,
                status=status,
                queued_at=BASE_TIME + timedelta(minutes=index * 3 + len(status.value)),
                added=index + 2,
            )
        async with runtime.database.system_session() as session:
            await session.execute(
                update(SyncJobRow)
                .where(SyncJobRow.id == job.id)
                .values(
                    errors=[{"scope": "s", "code": "E", "message": "m", "resourceId": "r"}],
                    warnings=[{"scope": "s", "code": "W", "count": 2, "resourceIds": ["a", "b"]}],
                )
            )
    for minute in range(4):
        await create_audit_event(
            runtime,
            owner,
            ("login", "credential.add")[minute % 2],
            created_at=BASE_TIME + timedelta(minutes=minute * 2, microseconds=minute),
            outcome=(AuditOutcome.SUCCESS, AuditOutcome.FAILURE)[minute % 2],
        )
    other = await create_user(runtime)
    theirs = await create_credential(runtime, other, "theirs", health=HealthStatus.ERROR)
    await create_sync_job(runtime, theirs, status=SyncJobStatus.FAILED)
    await create_audit_event(runtime, other, "their.action")
    return owner, other, credential_ids


async def _credentials(runtime: Runtime, owner: Any) -> list[Any]:
    from sqlalchemy import select

    from db.models import CloudCredentialRow

    async with runtime.database.system_session() as session:
        statement = select(CloudCredentialRow).where(CloudCredentialRow.user_id == owner.id)
        return list((await session.scalars(statement.order_by(CloudCredentialRow.name))).all())


async def nested_cursors(http: httpx.AsyncClient, token: str) -> list[str]:
    response = await post(http, Operation(NESTED), token)
    return [
        edge["cursor"]
        for credential in response.json()["data"]["credentials"]
        for edge in credential["resources"]["edges"]
    ]


async def test_the_new_roots_answer_the_same_bytes_as_graphql_core(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given an inventory with jobs and events, and a corpus of operations over it
    owner, _, credential_ids = await seed(runtime)
    token = access_token(runtime, owner)
    spy = Spy(graphql_view(app))
    spy.enabled(False)
    cursors = await collect_cursors(http, token)
    nested = await nested_cursors(http, token)
    rnd = random.Random(SEED)
    corpus = [roots_operation(rnd, cursors, nested, credential_ids) for _ in range(OPERATIONS)]
    for op in corpus:
        # when each runs with the fast path and without it
        spy.enabled(True)
        fast = await post(http, op, token)
        spy.enabled(False)
        regular = await post(http, op, token)
        # then the responses are the same bytes
        _same(fast, regular, op)
    # and the fast path served a good share of them itself (the rest it handed over)
    served = sum(spy.served)
    assert len(spy.served) == OPERATIONS
    assert served >= OPERATIONS // 3, f"the fast path served only {served} of {OPERATIONS}"
    assert served < OPERATIONS, "nothing was handed over: the corpus lacks unsupported cases"


@pytest.mark.parametrize("query", [NESTED, DASHBOARD])
async def test_the_bench_queries_are_served_by_the_fast_path(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime, query: str
) -> None:
    # given the inventory
    owner, _, _ = await seed(runtime)
    token = access_token(runtime, owner)
    spy = Spy(graphql_view(app))
    # when the query runs with the fast path and without it
    fast = await post(http, Operation(query), token)
    spy.enabled(False)
    regular = await post(http, Operation(query), token)
    # then the fast path served it, the same bytes, with data and no error
    assert spy.served == [True]
    _same(fast, regular, Operation(query))
    assert "errors" not in fast.json()


@pytest.mark.parametrize("query", [NESTED, DASHBOARD])
@pytest.mark.parametrize(
    ("revoke", "code"),
    [
        (revoke_sessions, "UNAUTHENTICATED"),
        (deactivate, "UNAUTHENTICATED"),
        (delete_account, "UNAUTHENTICATED"),
        (promote_without_totp, "FORBIDDEN"),
    ],
)
async def test_a_change_to_the_account_applies_at_once_on_the_new_roots(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime, query: str, revoke: Any, code: str
) -> None:
    # given a user whose query the fast path has served
    owner, _, _ = await seed(runtime)
    token = access_token(runtime, owner)
    spy = Spy(graphql_view(app))
    assert (await post(http, Operation(query), token)).json()["data"] is not None
    assert spy.served == [True]
    # when another process changes the account
    await revoke(runtime, owner)
    # then the next request with the same token reads nothing
    body = (await post(http, Operation(query), token)).json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    assert spy.served == [True, False]


async def test_another_user_sees_none_of_the_owners_credentials_counts_health_or_activity(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given an owner with an inventory, and another user with one credential, job and event
    owner, other, _ = await seed(runtime)
    spy = Spy(graphql_view(app))
    mine = (await post(http, Operation(NESTED), access_token(runtime, owner))).json()["data"]
    # when the other user reads both roots through the fast path
    token = access_token(runtime, other)
    listed = (await post(http, Operation(NESTED), token)).json()["data"]["credentials"]
    board = (await post(http, Operation(DASHBOARD), token)).json()["data"]["dashboard"]
    assert spy.served == [True, True, True]
    # then only its own credential, with nothing of the owner's
    assert [c["name"] for c in listed] == ["theirs"]
    assert listed[0]["resourceCount"] == 0 and listed[0]["resources"]["edges"] == []
    assert listed[0]["lastSync"]["status"] == "FAILED"
    owners_ids = {c["id"] for c in mine["credentials"]}
    assert not owners_ids & {c["id"] for c in listed}
    assert board["totalResources"] == 0 and board["providerBreakdown"] == []
    assert board["accounts"] == [] and board["regionDistribution"] == []
    assert [h["credential"]["name"] for h in board["providerHealth"]] == ["theirs"]
    assert [h["health"]["status"] for h in board["providerHealth"]] == ["ERROR"]
    summaries = [entry["summary"] for entry in board["recentActivity"]]
    assert summaries == ["sync FAILED: 0 added, 0 updated, 0 removed", "their.action: SUCCESS"]


@pytest.mark.parametrize("tamper", ["another credential", "another user", "forged"])
async def test_a_foreign_or_forged_nested_cursor_is_refused_as_the_regular_path_refuses_it(
    app: Starlette, http: httpx.AsyncClient, runtime: Runtime, tamper: str
) -> None:
    # given the owner's nested cursors, and another user with a credential of its own
    owner, other, _ = await seed(runtime)
    token = access_token(runtime, owner)
    first = (await post(http, Operation(NESTED), token)).json()["data"]["credentials"][0]
    cursor = first["resources"]["edges"][0]["cursor"]
    if tamper == "another user":
        token = access_token(runtime, other)
    elif tamper == "forged":
        cursor = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    # when a nested page is asked `after` it
    page = f'resources(first: 2, after: "{cursor}") {{ edges {{ node {{ id }} }} }}'
    query = f"{{ credentials {{ name {page} }} }}"
    spy = Spy(graphql_view(app))
    fast = await post(http, Operation(query), token)
    spy.enabled(False)
    regular = await post(http, Operation(query), token)
    # then the answers are the same bytes: a BAD_REQUEST (a refused page is a non-null field,
    # so no credential is listed), the regular path's, and no resource of anyone's
    _same(fast, regular, Operation(query))
    body = fast.json()
    assert body["data"] is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"BAD_REQUEST"}
    assert b"CloudResource" not in fast.content
    assert spy.served == [False]
