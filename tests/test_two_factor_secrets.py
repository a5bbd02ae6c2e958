"""Two-factor secrets never leak: not the TOTP secret, not a recovery code, not an `mfaToken`, in
no log line (DEBUG included), audit event, security event or stored row; and one code cannot
complete two log-ins even when both are sent at once.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from db.models import AuditEventRow, MfaChallengeRow, RecoveryCodeRow, SecurityEventRow
from graph.runtime import Runtime
from security.passwords import PasswordHasher
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, signed_up_session
from tests.two_factor_support import DISABLE, REGENERATE, complete, enrol, install_clock, log_in


@pytest.fixture(autouse=True)
def _fast(fast_passwords: PasswordHasher) -> None:
    """Minimal argon2 cost."""


async def test_no_two_factor_secret_reaches_logs_events_or_rows(
    gql: GraphQLClient,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = install_clock(monkeypatch)
    # given a user who enrols, logs in with a code and a recovery code, regenerates and disables
    session = await signed_up_session(gql, "quiet@example.com")
    token = session["accessToken"]
    app, recovery = await enrol(gql, token, clock)
    first = (await log_in(gql, "quiet@example.com"))["mfaToken"]
    assert (await complete(gql, first, code=app.code()))["accessToken"]
    second = (await log_in(gql, "quiet@example.com"))["mfaToken"]
    assert (await complete(gql, second, recovery=recovery[0]))["accessToken"]
    clock.next_step()
    fresh = (await gql(REGENERATE, {"input": {"code": app.code()}}, token=token)).ok()
    new_codes = fresh["regenerateRecoveryCodes"]["recoveryCodes"]
    clock.next_step()
    right = {"currentPassword": PASSWORD, "code": app.code()}
    assert (await gql(DISABLE, {"input": right}, token=token)).ok()["disableTotp"][
        "totpEnabled"
    ] is False
    secrets = [app.totp.secret, first, second, *recovery, *new_codes]
    # then none of them is in a log line
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert [s for s in secrets if s in logged] == []
    # nor in an audit or security event, nor as plain text in a stored row
    async with runtime.database.system_session() as db:
        stored = [
            repr((row.action, row.details))
            for row in (await db.scalars(select(AuditEventRow))).all()
        ]
        stored += [repr(row.details) for row in (await db.scalars(select(SecurityEventRow))).all()]
        stored += [row.code_hash for row in (await db.scalars(select(RecoveryCodeRow))).all()]
        stored += [row.token_hash for row in (await db.scalars(select(MfaChallengeRow))).all()]
    dump = "\n".join(stored)
    assert [s for s in secrets if s in dump] == []


async def test_one_code_completes_one_of_two_concurrent_log_ins(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two pending log-ins of one account
    clock = install_clock(monkeypatch)
    session = await signed_up_session(gql, "racer@example.com")
    app, recovery = await enrol(gql, session["accessToken"], clock)
    tokens = [(await log_in(gql, "racer@example.com"))["mfaToken"] for _ in range(4)]
    # when the same code (then the same recovery code) completes both at once
    code = app.code()
    by_code = await asyncio.gather(*(complete(gql, t, code=code) for t in tokens[:2]))
    by_recovery = await asyncio.gather(
        *(complete(gql, t, recovery=recovery[0]) for t in tokens[2:])
    )
    # then exactly one of each pair gets a session
    for pair in (by_code, by_recovery):
        assert sorted(bool(p["accessToken"]) for p in pair) == [False, True], pair
