"""Key hygiene: each signing and vault key's age is recorded when first seen, shown by
`stratograph keys`, `keyStatus` (admins) and /metrics, and a warning names keys past
KEY_MAX_AGE_DAYS."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy.exc
from sqlalchemy import select, text
from starlette.applications import Starlette

from core.settings import Settings
from db.enums import Role
from db.models import KeyAgeRow, TotpFactorRow, WebhookRow
from db.types import utcnow
from graph.app import create_app
from graph.runtime import Runtime
from security.key_ages import (
    ConfiguredKey,
    KeyRings,
    configured_keys,
    key_status,
    record_first_seen,
)
from stratograph.keys_command import run_keys
from tests.conftest import make_settings
from tests.databases import PostgresTemplate, as_app_role, async_url
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.live_server import live_server
from tests.test_operations_metrics import value
from tests.vault_helpers import key_entry, new_key, seal_rows

KEY_STATUS = """
query { keyStatus { maxAgeDays overdueCount keys {
  kind keyId fingerprint primary firstSeenAt ageDays overdue credentialCount } } }
"""


def _keys(settings: Settings) -> list[ConfiguredKey]:
    return configured_keys(KeyRings.from_settings(settings))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # two vault keys (k2 primary, k1 previous) and a previous signing key
    return make_settings(
        database_url,
        tmp_path,
        encryption_keys=[key_entry("k2", new_key()), key_entry("k1", new_key())],
        previous_secret_keys=["an-older-signing-key-of-at-least-32-bytes!"],
        key_max_age_days=90,
    )


async def test_ages_are_recorded_once_and_never_hold_the_key(
    runtime: Runtime, settings: Settings
) -> None:
    # given the keys first seen 100 days ago
    long_ago = utcnow() - timedelta(days=100)
    await record_first_seen(runtime.database, _keys(settings), long_ago)
    # when the status is read again today (a later start records them again)
    keys = await key_status(runtime.database, KeyRings.from_settings(settings))
    # then the first sighting is kept, and every key is 100 days old and overdue
    assert [(k.kind, k.primary) for k in keys] == [
        ("signing", True),
        ("signing", False),
        ("vault", True),
        ("vault", False),
    ]
    assert {k.age_days for k in keys} == {100} and all(k.overdue for k in keys)
    # and the table holds fingerprints, never key material
    async with runtime.database.system_session() as session:
        stored = repr(
            [(r.kind, r.key_id, r.fingerprint) for r in await session.scalars(select(KeyAgeRow))]
        )
    for secret in settings.jwt_verification_keys:
        assert secret not in stored
    for material in settings.vault_keys.values():
        assert base64.b64encode(material).decode() not in stored and material.hex() not in stored


async def test_new_material_under_an_old_key_id_starts_a_new_age(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await record_first_seen(
        runtime.database,
        _keys(settings),
        utcnow() - timedelta(days=200),
    )
    replaced = make_settings(
        settings.database_url,
        tmp_path,
        secret_key=settings.secret_key,
        encryption_keys=[key_entry("k2", new_key())],  # same id, new material
    )
    (_, vault) = await key_status(runtime.database, KeyRings.from_settings(replaced))
    assert vault.key_id == "k2" and vault.age_days == 0 and not vault.overdue


async def test_keys_command_prints_ages_and_what_each_vault_key_seals(
    runtime: Runtime,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given 3 credentials sealed under the primary k2, and k1 seen 120 days ago
    user = await create_user(runtime)
    await seal_rows(runtime.database, runtime.vault, [user.id], 3)
    old = [k for k in _keys(settings) if k.key_id == "k1"]
    await record_first_seen(runtime.database, old, utcnow() - timedelta(days=120))
    # when `stratograph keys` runs
    with caplog.at_level(logging.WARNING, logger="stratograph.keys"):
        assert await _in_thread(run_keys, settings) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines()[1:]}
    # then each key shows with its role, age and use; the old one is flagged and logged
    assert "primary" in lines["k2"] and "3 credentials sealed" in lines["k2"]
    assert "previous" in lines["k1"] and "120d" in lines["k1"] and "rotate" in lines["k1"]
    assert "0 credentials sealed" in lines["k1"]
    assert any(
        "k1" in r.getMessage() and "KEY_MAX_AGE_DAYS" in r.getMessage() for r in caplog.records
    )


async def _in_thread(function: object, *args: object) -> int:
    import asyncio

    return await asyncio.to_thread(function, *args)  # type: ignore[arg-type]


async def test_key_status_is_for_admins_and_shows_overdue_keys(
    runtime: Runtime, settings: Settings, gql: GraphQLClient
) -> None:
    # given k1 seen 91 days ago, and an admin and a user
    old = [k for k in _keys(settings) if k.key_id == "k1"]
    await record_first_seen(runtime.database, old, utcnow() - timedelta(days=91))
    admin = await create_user(runtime, role=Role.ADMIN)
    user = await create_user(runtime)
    # when each asks
    as_admin = await gql(KEY_STATUS, token=access_token(runtime, admin))
    as_user = await gql(KEY_STATUS, token=access_token(runtime, user))
    anonymous = await gql(KEY_STATUS)
    # then only the admin gets the report; the others get typed refusals
    status = as_admin.ok()["keyStatus"]
    assert status["maxAgeDays"] == 90 and status["overdueCount"] == 1
    k1 = next(k for k in status["keys"] if k["keyId"] == "k1")
    assert k1 == {**k1, "kind": "VAULT", "primary": False, "ageDays": 91, "overdue": True}
    signing = [k for k in status["keys"] if k["kind"] == "SIGNING"]
    assert len(signing) == 2 and all(k["credentialCount"] is None for k in signing)
    assert as_user.error_codes == ["FORBIDDEN"] and as_user.data is None
    assert anonymous.error_codes == ["UNAUTHENTICATED"]


async def test_metrics_show_key_ages_from_server_start(settings: Settings) -> None:
    # given a server started with these keys (its lifespan records and publishes them)
    app: Starlette = create_app(settings)
    await record_first_seen(
        app.state.runtime.database,
        [k for k in _keys(settings) if k.key_id == "k1"],
        utcnow() - timedelta(days=30),
    )
    async with live_server(app) as address, httpx.AsyncClient(base_url=f"http://{address}") as http:
        from tests.test_operations_metrics import scrape

        samples = await scrape(http)
    # then /metrics has one age per key, by kind and key id
    k1 = value(samples, "stratograph_key_age_days", kind="vault", kid="k1")
    k2 = value(samples, "stratograph_key_age_days", kind="vault", kid="k2")
    assert 30 <= k1 < 30.1 and 0 <= k2 < 0.1
    signing = [
        s
        for (name, labels), s in samples.items()
        if name == "stratograph_key_age_days" and ("kind", "signing") in labels
    ]
    assert len(signing) == 2


@pytest.fixture
async def pg(postgres_template: PostgresTemplate, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime on a fresh PostgreSQL database, connected as the application role."""
    name = await postgres_template.clone()
    url = async_url(as_app_role(postgres_template.admin_dsn), name)
    runtime = Runtime.from_settings(make_settings(url, tmp_path))
    try:
        yield runtime
    finally:
        await runtime.close()
        await postgres_template.drop(name)


async def test_key_ages_are_read_by_admins_and_written_by_the_system_only(pg: Runtime) -> None:
    # given recorded key ages (PostgreSQL, the application role, forced row-level security)
    await record_first_seen(pg.database, _keys(pg.settings))
    user = await create_user(pg)
    count = "SELECT count(*) FROM key_ages"

    async def rows(user_id: object, *, admin: bool) -> int:
        async with pg.database.session(user_id, is_admin=admin) as session:  # type: ignore[arg-type]
            return int((await session.execute(text(count))).scalar_one())

    # when a plain user, an anonymous caller and an admin read the table without any filter
    # then only the admin sees the rows
    assert await rows(user.id, admin=False) == 0
    assert await rows(None, admin=False) == 0
    assert await rows(user.id, admin=True) == 2
    # and not even an admin session can rewrite a key's age
    async with pg.database.session(user.id, is_admin=True) as session:
        result = await session.execute(text("UPDATE key_ages SET first_seen_at = now()"))
        assert result.rowcount == 0  # type: ignore[attr-defined]
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        async with pg.database.session(user.id, is_admin=True) as session:
            await session.execute(
                text(
                    "INSERT INTO key_ages (kind, fingerprint, key_id, first_seen_at) "
                    "VALUES ('vault', 'forged', 'x', now())"
                )
            )


async def test_keys_command_names_key_ids_the_ring_lacks(
    runtime: Runtime, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given credentials sealed under k2, and a ring that no longer has k2
    user = await create_user(runtime)
    await seal_rows(runtime.database, runtime.vault, [user.id], 2)
    without = make_settings(
        settings.database_url,
        tmp_path,
        secret_key=settings.secret_key,
        encryption_keys=[settings.encryption_keys[1]],
    )
    # when `stratograph keys` runs: then it fails and names the missing key id and its use
    assert await _in_thread(run_keys, without) == 1
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "MISSING" in ln]
    assert line.split()[1] == "k2" and "2 secrets sealed" in line


async def test_two_factor_and_webhook_secrets_count_as_sealed_under_their_key(
    runtime: Runtime, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given no credential at all, but a two-factor secret and a webhook secret sealed under k2
    user = await create_user(runtime)
    async with runtime.database.system_session() as session:
        session.add(TotpFactorRow(user_id=user.id, key_id="k2", ciphertext=b"sealed"))
        session.add(
            WebhookRow(
                user_id=user.id,
                url="https://hooks.example.com/in",
                events=["SYNC_FINISHED"],
                key_id="k2",
                secret_ciphertext=b"sealed",
            )
        )
    # when `stratograph keys` runs with the full ring: then k2 is shown as still in use
    assert await _in_thread(run_keys, settings) == 0
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "0 credentials sealed" in lines["k2"]
    assert "2 other secrets sealed" in lines["k2"]
    keys = await key_status(runtime.database, KeyRings.from_settings(settings))
    (vault,) = [key for key in keys if key.key_id == "k2"]
    assert vault.credentials == 0 and vault.secrets == 2
    # and when the ring no longer has k2, the command fails and names what it strands
    without = make_settings(
        settings.database_url,
        tmp_path,
        secret_key=settings.secret_key,
        encryption_keys=[settings.encryption_keys[1]],
    )
    assert await _in_thread(run_keys, without) == 1
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "MISSING" in ln]
    assert line.split()[1] == "k2" and "2 secrets sealed" in line
