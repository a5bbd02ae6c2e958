"""`rotate-keys`: batches, interruption and resumption without loss, clear refusals."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core import logs
from core.settings import Settings, get_settings
from db.engine import Database, create_engine
from db.models import CloudCredentialRow
from graph.runtime import Runtime
from providers.secrets import AwsSecret
from providers.vault_access import seal_into
from security.vault import Sealed, Vault
from stratograph import cli
from stratograph.key_rotation import RotationError, key_usage, rotate_keys
from tests.factories import create_user
from tests.vault_helpers import key_entry, new_key, open_all, seal_rows


class Interrupted(Exception):
    pass


def rings(settings: Settings) -> tuple[bytes, bytes, Vault, Vault]:
    """The test's key k1, a new key k2, the ring [k2, k1] and the ring [k2] alone."""
    k1 = settings.vault_keys["k1"]
    k2 = new_key()
    return k1, k2, Vault({"k2": k2, "k1": k1}), Vault({"k2": k2})


async def seeded(runtime: Runtime, count: int) -> dict[uuid.UUID, AwsSecret]:
    alice, bob = await create_user(runtime), await create_user(runtime)
    return await seal_rows(runtime.database, runtime.vault, [alice.id, bob.id], count)


async def test_interrupted_rotation_resumes_and_loses_nothing(
    runtime: Runtime, settings: Settings
) -> None:
    # given 10 credentials under k1, and a ring whose primary is the new k2
    originals = await seeded(runtime, 10)
    _, _, both, only_new = rings(settings)

    def stop_after_two_batches(batch: int) -> None:
        if batch == 2:
            raise Interrupted

    # when the rotation dies after two batches of three
    with pytest.raises(Interrupted):
        await rotate_keys(
            runtime.database,
            both,
            batch_size=3,
            progress=False,
            after_batch=stop_after_two_batches,
        )
    # then what was committed is under k2, the rest under k1, and everything opens
    assert await key_usage(runtime.database) == {"k2": 6, "k1": 4}
    assert await open_all(runtime.database, both) == originals
    # when it runs again
    report = await rotate_keys(runtime.database, both, batch_size=3, progress=False)
    # then it finishes the rest, and k1 can be dropped from the ring
    assert (report.to_rotate, report.rotated, report.remaining) == (4, 4, 0)
    assert report.complete and report.unused_key_ids == ["k1"]
    assert await open_all(runtime.database, only_new) == originals


async def test_a_crash_inside_a_batch_rolls_that_batch_back(
    runtime: Runtime, settings: Settings
) -> None:
    # given 7 credentials, and a vault that crashes while re-sealing the 5th
    originals = await seeded(runtime, 7)
    k1, k2, both, _ = rings(settings)

    class CrashingVault(Vault):
        calls = 0

        def reseal(self, sealed: Sealed, owner_id: uuid.UUID, credential_id: uuid.UUID) -> Sealed:
            CrashingVault.calls += 1
            if CrashingVault.calls == 5:
                raise MemoryError("killed")
            return super().reseal(sealed, owner_id, credential_id)

    # when
    with pytest.raises(MemoryError):
        await rotate_keys(
            runtime.database, CrashingVault({"k2": k2, "k1": k1}), batch_size=3, progress=False
        )
    # then only the first batch moved, and every credential still opens
    assert await key_usage(runtime.database) == {"k2": 3, "k1": 4}
    assert await open_all(runtime.database, both) == originals
    report = await rotate_keys(runtime.database, both, batch_size=3, progress=False)
    assert report.complete and await key_usage(runtime.database) == {"k2": 7}


async def test_rotation_keeps_updated_at_and_reports_when_nothing_is_left(
    runtime: Runtime, settings: Settings
) -> None:
    await seeded(runtime, 2)
    _, _, both, _ = rings(settings)
    async with runtime.database.system_session() as session:
        before = sorted((await session.scalars(select(CloudCredentialRow.updated_at))).all())
    await rotate_keys(runtime.database, both, progress=False)
    again = await rotate_keys(runtime.database, both, progress=False)
    async with runtime.database.system_session() as session:
        after = sorted((await session.scalars(select(CloudCredentialRow.updated_at))).all())
    assert after == before
    assert (again.to_rotate, again.rotated, again.complete) == (0, 0, True)


async def test_unreadable_rows_are_left_untouched_and_reported(
    runtime: Runtime, settings: Settings
) -> None:
    # given three credentials, one of which holds a ciphertext copied from another row
    await seeded(runtime, 3)
    _, _, both, _ = rings(settings)
    async with runtime.database.system_session() as session:
        rows = (
            await session.scalars(select(CloudCredentialRow).order_by(CloudCredentialRow.name))
        ).all()
        tampered = rows[2]
        await session.execute(
            update(CloudCredentialRow)
            .where(CloudCredentialRow.id == tampered.id)
            .values(ciphertext=rows[0].ciphertext)
        )
    # when
    report = await rotate_keys(runtime.database, both, batch_size=2, progress=False)
    # then the others are rotated, the tampered one is named and still as it was
    assert (report.rotated, report.unreadable, report.remaining) == (2, [tampered.id], 1)
    assert not report.complete and report.unused_key_ids == []
    assert await key_usage(runtime.database) == {"k2": 2, "k1": 1}


async def test_unknown_key_id_refuses_to_start_and_changes_nothing(
    runtime: Runtime, settings: Settings
) -> None:
    # given credentials under k1, and a ring that lost k1
    await seeded(runtime, 2)
    _, _, _, only_new = rings(settings)
    # when / then
    with pytest.raises(RotationError, match=r"'k1' \(2 credentials\).*Nothing was changed"):
        await rotate_keys(runtime.database, only_new, progress=False)
    assert await key_usage(runtime.database) == {"k1": 2}


@pytest.fixture
def cli_env(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.MonkeyPatch]:
    """Run `stratograph` in-process against the test database, without touching logging."""
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("DEV_SECRETS_FILE", str(tmp_path / "cli-secrets.json"))
    monkeypatch.setattr(logs, "configure_logging", lambda *_a, **_k: None)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


async def test_cli_rotates_then_old_key_can_go(
    runtime: Runtime,
    settings: Settings,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given
    originals = await seeded(runtime, 4)
    k1, k2, _, only_new = rings(settings)
    cli_env.setenv("ENCRYPTION_KEYS", f"{key_entry('k2', k2)},{key_entry('k1', k1)}")
    # when
    status = await _run_cli(["rotate-keys", "--batch-size", "3"])
    # then
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "re-encrypted 4 of 4 credentials under primary key 'k2'" in out.out
    assert "you may remove them from ENCRYPTION_KEYS: k1" in out.out
    assert await open_all(runtime.database, only_new) == originals


async def test_cli_unknown_key_is_a_message_not_a_traceback(
    runtime: Runtime,
    settings: Settings,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seeded(runtime, 1)
    cli_env.setenv("ENCRYPTION_KEYS", key_entry("k2", new_key()))
    status = await _run_cli(["rotate-keys"])
    err = capsys.readouterr().err
    assert status == 1
    assert "ENCRYPTION_KEYS does not contain: 'k1' (1 credentials)" in err
    assert "Traceback" not in err


async def _run_cli(argv: list[str]) -> int:
    """The CLI runs its own event loop, so call it from a worker thread."""
    return await asyncio.to_thread(cli.main, argv)


async def test_a_secret_replaced_during_rotation_is_not_put_back(
    runtime: Runtime, settings: Settings
) -> None:
    # given a credential, and a rotation during which its owner replaces the secret (the owner's
    # server still seals with k1: the operator has not restarted it with the new ring yet)
    originals = await seeded(runtime, 1)
    (credential_id,) = originals
    k1, k2, both, _ = rings(settings)
    replacement = AwsSecret("AKIAREPLACED00000000", "replaced-" + new_key().hex(), None)

    def owner_replaces_secret() -> None:
        async def replace() -> None:
            database = Database(create_engine(settings.database_url))
            try:
                async with database.system_session() as session:
                    row = await session.get_one(CloudCredentialRow, credential_id)
                    seal_into(row, replacement, Vault({"k1": k1}))
            finally:
                await database.dispose()

        asyncio.run(replace())  # its own connection and loop, committed before rotation writes

    class RacingVault(Vault):
        def reseal(self, sealed: Sealed, owner_id: uuid.UUID, credential_id: uuid.UUID) -> Sealed:
            resealed = super().reseal(sealed, owner_id, credential_id)
            thread = threading.Thread(target=owner_replaces_secret)
            thread.start()
            thread.join()
            return resealed

    # when
    await rotate_keys(
        runtime.database, RacingVault({"k2": k2, "k1": k1}), batch_size=10, progress=False
    )
    # then the owner's new secret survives, and a second run rotates it
    assert await open_all(runtime.database, both) == {credential_id: replacement}
    report = await rotate_keys(runtime.database, both, progress=False)
    assert report.rotated == 1 and report.complete
    assert await open_all(runtime.database, both) == {credential_id: replacement}
