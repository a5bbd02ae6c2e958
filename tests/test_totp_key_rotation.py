"""`rotate-keys` re-seals TOTP secrets too, and never calls a key unused while one needs it:
before, removing the "unused" old key locked every enrolled user out of two-factor log-in.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.settings import Settings
from db.models import TotpFactorRow
from graph.runtime import Runtime
from security.vault import TOTP_SECRET, Sealed, Vault
from stratograph.key_rotation import rotate_keys
from tests.graphql_client import GraphQLClient
from tests.sessions import signed_up_session
from tests.two_factor_support import enrol, install_clock
from tests.vault_helpers import new_key

pytestmark = pytest.mark.usefixtures("fast_passwords")


async def test_rotation_reseals_totp_secrets_under_the_new_key(
    gql: GraphQLClient, runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an enrolled user (no credentials) whose TOTP secret is sealed with k1
    session = await signed_up_session(gql, "enrolled@example.com")
    app, _ = await enrol(gql, session["accessToken"], install_clock(monkeypatch))
    k2 = new_key()
    both = Vault({"k2": k2, "k1": settings.vault_keys["k1"]})
    # when the keys are rotated to k2
    report = await rotate_keys(runtime.database, both, progress=False)
    # then the secret was re-sealed, and only now is k1 reported removable
    assert report.totp_rotated == 1 and report.totp_unreadable == []
    assert report.unused_key_ids == ["k1"]
    async with runtime.database.system_session() as db:
        factor = (await db.scalars(select(TotpFactorRow))).one()
    assert factor.key_id == "k2"
    opened = Vault({"k2": k2}).open(
        Sealed(factor.key_id, factor.ciphertext), factor.user_id, factor.id, TOTP_SECRET
    )
    assert opened.decode() == app.totp.secret


async def test_a_key_still_sealing_a_totp_secret_is_not_called_unused(
    gql: GraphQLClient, runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an enrolled user whose secret cannot be re-sealed (its row was tampered with)
    session = await signed_up_session(gql, "tampered@example.com")
    await enrol(gql, session["accessToken"], install_clock(monkeypatch))
    async with runtime.database.system_session() as db:
        factor = (await db.scalars(select(TotpFactorRow))).one()
        factor.ciphertext = factor.ciphertext[:-1] + bytes([factor.ciphertext[-1] ^ 1])
    both = Vault({"k2": new_key(), "k1": settings.vault_keys["k1"]})
    report = await rotate_keys(runtime.database, both, progress=False)
    # then it is reported, and k1 is not offered for removal
    assert len(report.totp_unreadable) == 1 and not report.complete
    assert report.unused_key_ids == []
