"""logIn: tokens on success, one indistinguishable refusal for every failure, bcrypt upgrades."""

from __future__ import annotations

import hashlib
import statistics
import time

import jwt
import pytest
from passlib.hash import bcrypt
from sqlalchemy import select

from db.enums import AuditOutcome
from db.models import AuditEventRow, RefreshTokenRow, UserRow
from graph.runtime import Runtime
from security.passwords import PasswordHasher, Verification
from security.tokens import key_id
from tests.factories import create_user
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, log_in, sign_up

ME = "query { me { email } }"
INVALID = {
    "field": None,
    "code": "INVALID_CREDENTIALS",
    "message": "The email or password is incorrect.",
}


async def audit_events(runtime: Runtime) -> list[AuditEventRow]:
    async with runtime.database.system_session() as session:
        return list(
            (
                await session.execute(select(AuditEventRow).order_by(AuditEventRow.created_at))
            ).scalars()
        )


async def user_row(runtime: Runtime, email: str) -> UserRow:
    async with runtime.database.system_session() as session:
        return (await session.execute(select(UserRow).where(UserRow.email == email))).scalar_one()


@pytest.mark.usefixtures("fast_passwords")
async def test_log_in_returns_working_tokens(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    await sign_up(gql, "ada@example.com")
    # when the email is typed in another case
    session = await log_in(gql, " ADA@example.com")
    # then
    assert session["userErrors"] == []
    assert session["tokenType"] == "bearer"
    assert session["expiresIn"] == 30 * 60
    assert session["user"]["email"] == "ada@example.com"
    me = (await gql(ME, token=session["accessToken"])).ok()["me"]
    assert me == {"email": "ada@example.com"}
    claims = jwt.decode(session["accessToken"], options={"verify_signature": False})
    assert {"sub", "exp", "iat", "jti", "type", "iss"} <= set(claims)
    assert (claims["type"], claims["iss"]) == ("access", "stratograph")
    assert claims["exp"] - int(claims["iat"]) == 30 * 60
    assert jwt.get_unverified_header(session["accessToken"])["kid"] == key_id(
        runtime.settings.secret_key
    )
    assert (await user_row(runtime, "ada@example.com")).last_login_at is not None


@pytest.mark.usefixtures("fast_passwords")
async def test_refresh_tokens_are_stored_only_as_sha256_digests(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given
    await sign_up(gql, "digest@example.com")
    # when
    session = await log_in(gql, "digest@example.com", headers={"user-agent": "digest-test"})
    # then
    async with runtime.database.system_session() as db:
        row = (await db.execute(select(RefreshTokenRow))).scalar_one()
    token = session["refreshToken"]
    assert len(token) >= 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, row.ip, row.user_agent}
    assert (row.ip, row.user_agent) == ("203.0.113.10", "digest-test")
    assert (row.expires_at - row.created_at).days in (13, 14)


@pytest.mark.usefixtures("fast_passwords")
async def test_unknown_email_and_wrong_password_are_indistinguishable(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given
    await sign_up(gql, "known@example.com")
    # when
    wrong_password = await log_in(gql, "known@example.com", "Wrong-Horse-42")
    unknown_email = await log_in(gql, "nobody@example.com", PASSWORD)
    # then both payloads are identical
    assert wrong_password == unknown_email
    assert wrong_password["userErrors"] == [INVALID]
    assert wrong_password["accessToken"] is None and wrong_password["refreshToken"] is None


async def test_unknown_email_costs_a_password_verification(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a hasher that counts the verifications it runs
    calls: list[str] = []

    class CountingHasher(PasswordHasher):
        async def verify(self, password: str, stored_hash: str) -> Verification:
            calls.append("verify")
            return await super().verify(password, stored_hash)

        async def verify_dummy(self, password: str) -> Verification:
            calls.append("dummy")
            return await super().verify_dummy(password)

    runtime.passwords = CountingHasher.fast_for_tests()
    await create_user(
        runtime, "real@example.com", password_hash=runtime.passwords.context.hash(PASSWORD)
    )
    # when
    await log_in(gql, "ghost@example.com", PASSWORD)
    await log_in(gql, "real@example.com", "Wrong-Horse-42")
    await log_in(gql, "not even an email", PASSWORD)
    # then every attempt hashed once
    assert calls == ["dummy", "verify", "dummy"]


async def test_unknown_email_takes_as_long_as_a_wrong_password(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given an account hashed with the production parameters
    hashed = runtime.passwords.context.hash(PASSWORD)
    await create_user(runtime, "timing@example.com", password_hash=hashed)
    await log_in(gql, "warm-up@example.com", PASSWORD)  # builds the dummy hash
    # when both kinds of failure are timed, interleaved
    durations: dict[str, list[float]] = {"unknown": [], "wrong": []}
    for _ in range(5):
        for kind, email in (("unknown", "ghost@example.com"), ("wrong", "timing@example.com")):
            started = time.perf_counter()
            await log_in(gql, email, "Wrong-Horse-42")
            durations[kind].append(time.perf_counter() - started)
    # then the medians are close (a skipped hash would be ~10x faster)
    ratio = statistics.median(durations["unknown"]) / statistics.median(durations["wrong"])
    assert 0.4 < ratio < 2.5, durations


async def test_inactive_user_cannot_log_in(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a deactivated account with a correct password
    hashed = PasswordHasher.fast_for_tests().context.hash(PASSWORD)
    user = await create_user(runtime, "gone@example.com", password_hash=hashed, is_active=False)
    # when
    payload = await log_in(gql, "gone@example.com", PASSWORD)
    # then the refusal is the usual one, and the audit says why
    assert payload["userErrors"] == [INVALID]
    (event,) = await audit_events(runtime)
    assert (event.action, event.outcome, event.user_id) == ("login", AuditOutcome.FAILURE, user.id)
    assert event.details == {"reason": "inactive"}


async def test_bcrypt_hash_is_upgraded_to_argon2id_on_log_in(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given an account imported from the original platform, with a bcrypt hash
    legacy = bcrypt.using(rounds=4).hash(PASSWORD)
    await create_user(runtime, "legacy@example.com", password_hash=legacy)
    assert runtime.passwords.needs_update(legacy)
    # when
    first = await log_in(gql, "legacy@example.com", PASSWORD)
    # then the log-in works and the stored hash is now argon2id
    assert first["userErrors"] == []
    upgraded = (await user_row(runtime, "legacy@example.com")).password_hash
    assert upgraded.startswith("$argon2id$")
    assert not runtime.passwords.needs_update(upgraded)
    # and the password still works against the new hash
    assert (await log_in(gql, "legacy@example.com", PASSWORD))["userErrors"] == []
    events = await audit_events(runtime)
    assert [e.details.get("rehashed") for e in events] == [True, False]


async def test_wrong_password_keeps_the_bcrypt_hash(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    legacy = bcrypt.using(rounds=4).hash(PASSWORD)
    await create_user(runtime, "legacy2@example.com", password_hash=legacy)
    # when
    payload = await log_in(gql, "legacy2@example.com", "Wrong-Horse-42")
    # then
    assert payload["userErrors"] == [INVALID]
    assert (await user_row(runtime, "legacy2@example.com")).password_hash == legacy


@pytest.mark.usefixtures("fast_passwords")
async def test_log_in_outcomes_are_audited(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    await sign_up(gql, "watched@example.com")
    user = await user_row(runtime, "watched@example.com")
    agent = {"user-agent": "audit-test/2"}
    # when
    await log_in(gql, "watched@example.com", headers=agent)
    await log_in(gql, "watched@example.com", "Wrong-Horse-42", headers=agent)
    await log_in(gql, "stranger@example.com", headers=agent)
    # then
    events = [e for e in await audit_events(runtime) if e.action == "login"]
    assert [(e.outcome, e.user_id, e.details.get("reason")) for e in events] == [
        (AuditOutcome.SUCCESS, user.id, None),
        (AuditOutcome.FAILURE, user.id, "wrong_password"),
        (AuditOutcome.FAILURE, None, "unknown_email"),
    ]
    assert {(e.ip, e.user_agent) for e in events} == {("203.0.113.10", "audit-test/2")}


@pytest.mark.usefixtures("fast_passwords")
async def test_huge_password_is_refused_without_error(gql: GraphQLClient) -> None:
    # given
    await sign_up(gql, "big@example.com")
    # when
    payload = await log_in(gql, "big@example.com", "A1" + "x" * 100_000)
    # then
    assert payload["userErrors"] == [INVALID]
