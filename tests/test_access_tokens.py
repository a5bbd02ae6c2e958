"""Access tokens: every forged, stale or misused JWT is UNAUTHENTICATED; key rotation works."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import delete, update
from starlette.applications import Starlette

from db.models import UserRow
from graph.app import create_app
from graph.runtime import Runtime
from security.authentication import revocation_instants
from security.tokens import ISSUER, TokenSigner, key_id
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient

ME = "query { me { email } }"


def claims_for(user_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": uuid.uuid4().hex,
        "type": "access",
        "iss": ISSUER,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def signed(runtime: Runtime, claims: dict[str, Any], *, algorithm: str = "HS256") -> str:
    secret = runtime.settings.secret_key
    return jwt.encode(claims, secret, algorithm=algorithm, headers={"kid": key_id(secret)})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def hand_made(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWT assembled by hand, as an attacker would (PyJWT refuses to make some of these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


async def assert_refused(gql: GraphQLClient, token: str) -> None:
    response = await gql(ME, token=token)
    assert response.data is None
    assert response.error_codes == ["UNAUTHENTICATED"], response.body


async def test_a_genuine_token_is_accepted(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    user = await create_user(runtime, "genuine@example.com")
    # when
    response = await gql(ME, token=signed(runtime, claims_for(user.id)))
    # then the hand-built baseline works, so each refusal below is about its one defect
    assert response.ok() == {"me": {"email": "genuine@example.com"}}


async def test_alg_none_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    kid = key_id(runtime.settings.secret_key)
    for alg in ("none", "None", "NONE"):
        await assert_refused(
            gql, hand_made({"alg": alg, "typ": "JWT", "kid": kid}, claims_for(user.id), None)
        )


async def test_another_hmac_algorithm_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a server configured for HS256, and a token correctly signed with HS512
    user = await create_user(runtime)
    token = signed(runtime, claims_for(user.id), algorithm="HS512")
    # then
    await assert_refused(gql, token)


async def test_rsa_header_with_hmac_signature_is_refused(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given the classic algorithm-confusion token: RS256 header, HMAC over the secret
    user = await create_user(runtime)
    secret = runtime.settings.secret_key
    header = {"alg": "RS256", "typ": "JWT", "kid": key_id(secret)}
    # then
    await assert_refused(gql, hand_made(header, claims_for(user.id), secret.encode()))


async def test_bad_signature_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a token signed with another key but naming ours
    user = await create_user(runtime)
    kid = key_id(runtime.settings.secret_key)
    forged = jwt.encode(
        claims_for(user.id), secrets.token_urlsafe(48), algorithm="HS256", headers={"kid": kid}
    )
    await assert_refused(gql, forged)
    # and a genuine token whose payload was swapped for another user's
    victim = await create_user(runtime)
    header, _, signature = signed(runtime, claims_for(user.id)).split(".")
    other_payload = b64(json.dumps(claims_for(victim.id)).encode())
    await assert_refused(gql, f"{header}.{other_payload}.{signature}")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": int(datetime.now(UTC).timestamp()) - 60}, id="expired"),
        pytest.param({"nbf": int(datetime.now(UTC).timestamp()) + 3600}, id="not-yet-valid"),
        pytest.param({"type": "refresh"}, id="refresh-type"),
        pytest.param({"type": "password-reset"}, id="other-type"),
        pytest.param({"type": None}, id="no-type"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
        pytest.param({"iss": None}, id="no-issuer"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"sub": "not-a-uuid"}, id="bad-subject"),
    ],
)
async def test_defective_claims_are_refused(
    gql: GraphQLClient, runtime: Runtime, overrides: dict[str, Any]
) -> None:
    # given a correctly signed token with one defective claim
    user = await create_user(runtime)
    # then
    await assert_refused(gql, signed(runtime, claims_for(user.id, **overrides)))


async def test_unknown_or_missing_key_id_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    secret = runtime.settings.secret_key
    await assert_refused(gql, jwt.encode(claims_for(user.id), secret, algorithm="HS256"))
    await assert_refused(
        gql, jwt.encode(claims_for(user.id), secret, algorithm="HS256", headers={"kid": "x"})
    )


async def test_opaque_refresh_token_is_not_an_access_token(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    await assert_refused(gql, secrets.token_urlsafe(32))


async def test_deleted_user_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a valid token whose account is then deleted
    user = await create_user(runtime)
    token = access_token(runtime, user)
    async with runtime.database.system_session() as session:
        await session.execute(delete(UserRow).where(UserRow.id == user.id))
    # then
    await assert_refused(gql, token)


async def test_deactivated_user_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a valid token whose account is then deactivated
    user = await create_user(runtime)
    token = access_token(runtime, user)
    assert (await gql(ME, token=token)).ok()
    async with runtime.database.system_session() as session:
        await session.execute(update(UserRow).where(UserRow.id == user.id).values(is_active=False))
    # then
    await assert_refused(gql, token)


async def test_token_issued_before_revocation_is_refused(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a token, then a revocation of the user's sessions (as changePassword makes it: the
    # cut-off allows for `iat` being rounded to the millisecond, possibly upwards)
    user = await create_user(runtime)
    token = access_token(runtime, user)
    cutoff, _ = revocation_instants(datetime.now(UTC))
    async with runtime.database.system_session() as session:
        await session.execute(
            update(UserRow).where(UserRow.id == user.id).values(tokens_valid_after=cutoff)
        )
    # then the earlier token is refused
    await assert_refused(gql, token)


@pytest.fixture
async def rotated_app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Starlette, str]]:
    """A server whose SECRET_KEY was rotated: the old key is in PREVIOUS_SECRET_KEYS."""
    old_key = secrets.token_urlsafe(48)
    app = create_app(make_settings(database_url, tmp_path, previous_secret_keys=[old_key]))
    yield app, old_key
    await app.state.runtime.close()


async def test_previous_key_still_verifies_and_new_tokens_use_the_current_key(
    rotated_app: tuple[Starlette, str],
) -> None:
    # given a token signed before the rotation, with the old key
    app, old_key = rotated_app
    runtime: Runtime = app.state.runtime
    user = await create_user(runtime, "rotated@example.com")
    before = TokenSigner(old_key, (), "HS256", timedelta(minutes=5)).issue_access(user.id)[0]
    # when the rotated server issues a new token
    after = access_token(runtime, user)
    # then both verify
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        gql = GraphQLClient(http)
        for token in (before, after):
            assert (await gql(ME, token=token)).ok() == {"me": {"email": "rotated@example.com"}}
    # and the new one is signed with SECRET_KEY, not the old key
    assert jwt.get_unverified_header(after)["kid"] == key_id(runtime.settings.secret_key)
    jwt.decode(after, runtime.settings.secret_key, algorithms=["HS256"], issuer=ISSUER)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(after, old_key, algorithms=["HS256"], issuer=ISSUER)


async def test_token_of_a_dropped_key_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a token signed with a key the server no longer lists
    user = await create_user(runtime)
    retired = TokenSigner(secrets.token_urlsafe(48), (), "HS256", timedelta(minutes=5))
    # then
    await assert_refused(gql, retired.issue_access(user.id)[0])


@pytest.mark.parametrize("microsecond", [0, 1, 499, 500, 501, 999_000, 999_999])
def test_revocation_cutoff_splits_tokens_of_the_same_millisecond(microsecond: int) -> None:
    # given a revocation at `now`, and tokens issued just before it and at the cut-off
    signer = TokenSigner(secrets.token_urlsafe(48), (), "HS256", timedelta(minutes=5))
    now = datetime.now(UTC).replace(microsecond=microsecond)
    cutoff, issue_at = revocation_instants(now)
    user_id = uuid.uuid4()
    # when their claims are read back
    before = signer.verify_access(
        signer.issue_access(user_id, now=now - timedelta(microseconds=1))[0]
    )
    at_now = signer.verify_access(signer.issue_access(user_id, now=now)[0])
    fresh = signer.verify_access(signer.issue_access(user_id, now=issue_at)[0])
    # then the old ones fall before the cut-off (refused) and the fresh one does not
    assert before.issued_at < cutoff
    assert at_now.issued_at < cutoff
    assert fresh.issued_at >= cutoff
