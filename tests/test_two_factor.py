"""Two-factor log-in (TOTP, RFC 6238): enrolment, the two-step log-in, recovery codes, removal,
and every way a second step can be wrong. Codes are computed by the test from the `otpauthUri`,
as an authenticator app would; the server's TOTP clock is moved by the test, never waited for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from db.models import MfaChallengeRow, TotpFactorRow, UserRow
from graph.app import create_app
from graph.runtime import Runtime
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, signed_up_session
from tests.two_factor_support import (
    BEGIN,
    CONFIRM,
    DISABLE,
    ME,
    REGENERATE,
    Clock,
    codes_of,
    complete,
    enrol,
    install_clock,
    log_in,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return install_clock(monkeypatch)


@pytest.fixture(autouse=True)
def _fast(fast_passwords: PasswordHasher) -> None:
    """Minimal argon2 cost: these tests log in a lot."""


async def enrolled(gql: GraphQLClient, email: str, clock: Clock) -> tuple[Any, list[str], str]:
    session = await signed_up_session(gql, email)
    app, codes = await enrol(gql, session["accessToken"], clock)
    return app, codes, session["accessToken"]


async def test_sign_up_enrol_log_in_with_codes_and_recovery_codes(
    gql: GraphQLClient, clock: Clock
) -> None:
    # given a new account that enrols with the URI's secret and gets 10 recovery codes
    app, recovery, token = await enrolled(gql, "ada@example.com", clock)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert (await gql(ME, token=token)).ok()["me"]["totpEnabled"] is True

    # when it logs in with its password
    first = await log_in(gql, "ada@example.com")
    # then no tokens come back, only an mfaToken
    assert first["mfaRequired"] is True and first["mfaToken"]
    assert first["accessToken"] is None and first["refreshToken"] is None
    # and completeLogIn with the app's code returns the session
    done = await complete(gql, first["mfaToken"], code=app.code())
    assert done["userErrors"] == [] and done["mfaRequired"] is False
    assert (await gql(ME, token=done["accessToken"])).ok()["me"]["email"] == "ada@example.com"

    # when a recovery code replaces the code, it works once
    second = await log_in(gql, "ada@example.com")
    used = await complete(gql, second["mfaToken"], recovery=recovery[0].upper())
    assert used["userErrors"] == [] and used["accessToken"]
    third = await log_in(gql, "ada@example.com")
    again = await complete(gql, third["mfaToken"], recovery=recovery[0])
    # then the second use is refused and issues nothing
    assert codes_of(again) == ["INVALID_CODE"] and again["accessToken"] is None
    assert again["userErrors"][0]["field"] == ["input", "recoveryCode"]


async def test_a_code_is_accepted_once_in_its_window(gql: GraphQLClient, clock: Clock) -> None:
    # given a code that completed one log-in
    app, _, _ = await enrolled(gql, "replay@example.com", clock)
    code = app.code()
    assert (await complete(gql, (await log_in(gql, "replay@example.com"))["mfaToken"], code=code))[
        "accessToken"
    ]
    # when the same code is replayed within its 30 seconds, on a new log-in
    replay = await complete(gql, (await log_in(gql, "replay@example.com"))["mfaToken"], code=code)
    # then it is refused; and a code of an older step is refused as well
    assert codes_of(replay) == ["INVALID_CODE"] and replay["accessToken"] is None
    older = await complete(
        gql, (await log_in(gql, "replay@example.com"))["mfaToken"], code=app.code(-1)
    )
    assert codes_of(older) == ["INVALID_CODE"]
    # and the next step's code (one step of drift) still works
    ahead = await complete(
        gql, (await log_in(gql, "replay@example.com"))["mfaToken"], code=app.code(1)
    )
    assert ahead["userErrors"] == []


async def test_drift_beyond_one_step_is_refused(gql: GraphQLClient, clock: Clock) -> None:
    app, _, _ = await enrolled(gql, "drift@example.com", clock)
    token = (await log_in(gql, "drift@example.com"))["mfaToken"]
    assert codes_of(await complete(gql, token, code=app.code(2))) == ["INVALID_CODE"]
    assert (await complete(gql, token, code=app.code()))["userErrors"] == []


async def test_a_used_mfa_token_cannot_complete_again(gql: GraphQLClient, clock: Clock) -> None:
    app, _, _ = await enrolled(gql, "reuse@example.com", clock)
    token = (await log_in(gql, "reuse@example.com"))["mfaToken"]
    assert (await complete(gql, token, code=app.code()))["accessToken"]
    clock.next_step()
    reused = await complete(gql, token, code=app.code())
    assert codes_of(reused) == ["INVALID_TOKEN"] and reused["accessToken"] is None
    assert reused["userErrors"][0]["field"] == ["input", "mfaToken"]


async def test_an_expired_mfa_token_is_refused(
    gql: GraphQLClient, runtime: Runtime, clock: Clock
) -> None:
    app, _, _ = await enrolled(gql, "late@example.com", clock)
    token = (await log_in(gql, "late@example.com"))["mfaToken"]
    async with runtime.database.system_session() as session:
        await session.execute(
            update(MfaChallengeRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    late = await complete(gql, token, code=app.code())
    assert codes_of(late) == ["INVALID_TOKEN"] and late["accessToken"] is None


async def test_a_foreign_mfa_token_gets_nothing(gql: GraphQLClient, clock: Clock) -> None:
    # given two enrolled accounts, each with a pending second step
    alice, _, _ = await enrolled(gql, "alice@example.com", clock)
    bob, _, bob_access = await enrolled(gql, "bob@example.com", clock)
    alice_token = (await log_in(gql, "alice@example.com"))["mfaToken"]
    # an mfaToken is no access token
    as_bearer = await gql(ME, token=alice_token)
    assert as_bearer.error_codes == ["UNAUTHENTICATED"]
    # an access token is no mfaToken
    forged = await complete(gql, bob_access, code=bob.code())
    assert codes_of(forged) == ["INVALID_TOKEN"]
    # and Bob's code does not complete Alice's log-in
    crossed = await complete(gql, alice_token, code=bob.code())
    assert codes_of(crossed) == ["INVALID_CODE"] and crossed["accessToken"] is None
    assert (await complete(gql, alice_token, code=alice.code()))["user"]["email"] == (
        "alice@example.com"
    )


async def test_five_wrong_codes_lock_the_mfa_token(gql: GraphQLClient, clock: Clock) -> None:
    app, _, _ = await enrolled(gql, "locked@example.com", clock)
    token = (await log_in(gql, "locked@example.com"))["mfaToken"]
    wrong = "000000" if app.code() != "000000" else "111111"
    for _ in range(5):
        assert codes_of(await complete(gql, token, code=wrong)) == ["INVALID_CODE"]
    # then even the right code cannot use this token any more
    after = await complete(gql, token, code=app.code())
    assert codes_of(after) == ["INVALID_TOKEN"] and after["accessToken"] is None


async def test_complete_log_in_needs_exactly_one_kind_of_code(
    gql: GraphQLClient, clock: Clock
) -> None:
    app, recovery, _ = await enrolled(gql, "one@example.com", clock)
    token = (await log_in(gql, "one@example.com"))["mfaToken"]
    assert codes_of(await complete(gql, token)) == ["REQUIRED"]
    both = await complete(gql, token, code=app.code(), recovery=recovery[0])
    assert codes_of(both) == ["INVALID"] and both["accessToken"] is None


async def test_a_wrong_confirmation_code_enables_nothing(gql: GraphQLClient, clock: Clock) -> None:
    # given a begun setup
    session = await signed_up_session(gql, "wrong-confirm@example.com")
    token = session["accessToken"]
    assert (await gql(BEGIN, token=token)).ok()["beginTotpSetup"]["secret"]
    # when it is confirmed with a wrong code
    refused = (await gql(CONFIRM, {"input": {"code": "12345"}}, token=token)).ok()
    payload = refused["confirmTotpSetup"]
    # then no recovery codes, two-factor stays off and a log-in gets tokens directly
    assert codes_of(payload) == ["INVALID_CODE"] and payload["recoveryCodes"] is None
    assert payload["userErrors"][0]["field"] == ["input", "code"]
    assert (await gql(ME, token=token)).ok()["me"]["totpEnabled"] is False
    again = await log_in(gql, "wrong-confirm@example.com")
    assert again["mfaRequired"] is False and again["accessToken"]


async def test_the_secret_is_shown_once_and_sealed_at_rest(
    gql: GraphQLClient, runtime: Runtime, clock: Clock
) -> None:
    session = await signed_up_session(gql, "sealed@example.com")
    token = session["accessToken"]
    begun = (await gql(BEGIN, token=token)).ok()["beginTotpSetup"]
    secret = begun["secret"]
    app, _ = await enrol(gql, token, clock)  # a second begin replaces the pending secret
    assert app.totp.secret != secret
    # once enabled, beginning again is refused without a secret
    again = (await gql(BEGIN, token=token)).ok()["beginTotpSetup"]
    assert codes_of(again) == ["TOTP_ALREADY_ENABLED"] and again["secret"] is None
    # the stored row holds neither secret in plain text
    async with runtime.database.system_session() as session_:
        rows = (await session_.scalars(select(TotpFactorRow))).all()
    assert len(rows) == 1
    for plain in (secret, app.totp.secret):
        assert plain.encode() not in rows[0].ciphertext


async def test_a_totp_ciphertext_moved_to_another_account_opens_nothing(
    gql: GraphQLClient, runtime: Runtime, clock: Clock
) -> None:
    # given two enrolled accounts
    alice, _, _ = await enrolled(gql, "owner@example.com", clock)
    await enrolled(gql, "thief@example.com", clock)
    async with runtime.database.system_session() as session:
        users = {u.email: u.id for u in (await session.scalars(select(UserRow))).all()}
        stolen = await session.scalar(
            select(TotpFactorRow).where(TotpFactorRow.user_id == users["owner@example.com"])
        )
        assert stolen is not None
        # when Alice's sealed secret is copied into the thief's row
        await session.execute(
            update(TotpFactorRow)
            .where(TotpFactorRow.user_id == users["thief@example.com"])
            .values(ciphertext=stolen.ciphertext, key_id=stolen.key_id, last_used_step=None)
        )
    # then Alice's codes do not complete the thief's log-in
    token = (await log_in(gql, "thief@example.com"))["mfaToken"]
    assert codes_of(await complete(gql, token, code=alice.code())) == ["INVALID_CODE"]


async def test_disabling_needs_the_password_and_a_code(gql: GraphQLClient, clock: Clock) -> None:
    app, _, token = await enrolled(gql, "disable@example.com", clock)
    wrong_password = {"currentPassword": "Not-The-Password-1", "code": app.code()}
    refused = (await gql(DISABLE, {"input": wrong_password}, token=token)).ok()["disableTotp"]
    assert codes_of(refused) == ["INVALID_CREDENTIALS"]
    assert refused["userErrors"][0]["field"] == ["input", "currentPassword"]
    wrong_code = {"currentPassword": PASSWORD, "code": "99999x"}
    refused = (await gql(DISABLE, {"input": wrong_code}, token=token)).ok()["disableTotp"]
    assert codes_of(refused) == ["INVALID_CODE"]
    assert (await gql(ME, token=token)).ok()["me"]["totpEnabled"] is True
    # with both right, it is off and log-in needs the password only
    right = {"currentPassword": PASSWORD, "code": app.code()}
    done = (await gql(DISABLE, {"input": right}, token=token)).ok()["disableTotp"]
    assert done == {"totpEnabled": False, "userErrors": []}
    assert (await log_in(gql, "disable@example.com"))["accessToken"]


async def test_regenerated_recovery_codes_replace_the_old_ones(
    gql: GraphQLClient, clock: Clock
) -> None:
    app, old, token = await enrolled(gql, "regen@example.com", clock)
    refused = (await gql(REGENERATE, {"input": {"code": "000"}}, token=token)).ok()
    assert codes_of(refused["regenerateRecoveryCodes"]) == ["INVALID_CODE"]
    fresh = (await gql(REGENERATE, {"input": {"code": app.code()}}, token=token)).ok()
    new = fresh["regenerateRecoveryCodes"]["recoveryCodes"]
    assert len(new) == 10 and not set(new) & set(old)
    pending = (await log_in(gql, "regen@example.com"))["mfaToken"]
    assert codes_of(await complete(gql, pending, recovery=old[1])) == ["INVALID_CODE"]
    ok = await complete(gql, pending, recovery=new[1])
    assert ok["accessToken"]


async def test_finished_challenges_are_purged(
    gql: GraphQLClient, runtime: Runtime, clock: Clock
) -> None:
    from sqlalchemy import func

    from security.token_purge import RefreshTokenPurge

    # given one completed and one pending log-in challenge
    app, _, _ = await enrolled(gql, "purged@example.com", clock)
    assert (
        await complete(gql, (await log_in(gql, "purged@example.com"))["mfaToken"], code=app.code())
    )["accessToken"]
    pending = (await log_in(gql, "purged@example.com"))["mfaToken"]
    # when the hourly purge runs
    await RefreshTokenPurge(runtime.database).run_once()
    # then only the pending one is left, and it still works
    async with runtime.database.system_session() as session:
        assert await session.scalar(select(func.count()).select_from(MfaChallengeRow)) == 1
    clock.next_step()
    assert (await complete(gql, pending, code=app.code()))["accessToken"]


async def test_wrong_codes_share_the_log_in_budget(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    # given a server allowing 4 password or code checks a minute per address
    application = create_app(make_settings(database_url, tmp_path, rate_limit_login="4/minute"))
    runtime: Runtime = application.state.runtime
    runtime.passwords.close()
    runtime.passwords = PasswordHasher.fast_for_tests()
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql = GraphQLClient(http)
            session = await signed_up_session(gql, "budget@example.com")  # logIn: 1
            await enrol(gql, session["accessToken"], clock)  # confirmTotpSetup: 2
            token = (await log_in(gql, "budget@example.com"))["mfaToken"]  # logIn: 3
            assert codes_of(await complete(gql, token, code="000000")) == ["INVALID_CODE"]  # 4
            # when one more code is tried
            refused = await gql(
                'mutation($t: String!) { completeLogIn(input: {mfaToken: $t, code: "1"}) '
                "{ accessToken } }",
                {"t": token},
            )
            # then it is refused by the rate limit, like a fifth password
            assert refused.error_codes == ["RATE_LIMITED"] and refused.status_code == 429
    finally:
        await runtime.close()


async def test_a_challenge_outlives_no_reset_of_two_factor(
    gql: GraphQLClient, runtime: Runtime, clock: Clock
) -> None:
    from db.enums import Role
    from tests.factories import access_token, create_user

    # given a pending second step, then an admin reset and a new setup begun but not confirmed
    _, recovery, token = await enrolled(gql, "reset-midway@example.com", clock)
    pending = (await log_in(gql, "reset-midway@example.com"))["mfaToken"]
    admin = await create_user(runtime, role=Role.ADMIN)
    me = (await gql(ME, token=token)).ok()["me"]
    reset = await gql(
        "mutation($id: ID!) { resetUserTotp(input: {id: $id}) { userErrors { code } } }",
        {"id": me["id"]},
        token=access_token(runtime, admin),
    )
    assert reset.ok()["resetUserTotp"]["userErrors"] == []
    begun = (await gql(BEGIN, token=token)).ok()["beginTotpSetup"]
    import pyotp

    unconfirmed = pyotp.TOTP(begun["secret"]).at(clock.now)
    # when the old challenge is completed with the unconfirmed secret's code or an old recovery code
    by_code = await complete(gql, pending, code=unconfirmed)
    by_recovery = await complete(gql, pending, recovery=recovery[0])
    # then neither logs in
    assert by_code["accessToken"] is None and by_recovery["accessToken"] is None


async def test_a_password_change_ends_pending_second_steps(
    gql: GraphQLClient, clock: Clock
) -> None:
    # given a second step pending (someone with the old password), then a password change
    app, _, _ = await enrolled(gql, "changed@example.com", clock)
    stale = (await log_in(gql, "changed@example.com"))["mfaToken"]
    mine = await complete(
        gql, (await log_in(gql, "changed@example.com"))["mfaToken"], code=app.code()
    )
    change = await gql(
        "mutation($input: ChangePasswordInput!) { changePassword(input: $input) "
        "{ accessToken userErrors { code } } }",
        {"input": {"currentPassword": PASSWORD, "newPassword": "Brand-New-Horse-9"}},
        token=mine["accessToken"],
    )
    assert change.ok()["changePassword"]["userErrors"] == []
    # when the stale step is completed with a valid code
    clock.next_step()
    late = await complete(gql, stale, code=app.code())
    # then it gets nothing
    assert codes_of(late) == ["INVALID_TOKEN"] and late["accessToken"] is None
