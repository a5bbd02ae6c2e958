"""`stratograph backup` / `restore [--verify]`: a running server's data comes back whole, and the
backup is consistent even while a sync writes."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from core.settings import Settings, get_settings
from db.engine import Database, create_engine
from db.models import CloudResourceRow, ResourceCountRow
from graph.runtime import Runtime
from providers.base import Scope
from stratograph import cli
from stratograph.backup import postgres
from stratograph.backup.create import create_backup
from stratograph.backup.restore import open_backup, restore_backup
from stratograph.backup.verify import verify_backup
from tests.backup_support import (
    Template,
    empty_target,
    inventory_of,
    new_backup_key,
    owner_url,
    secrets_of,
    seed_synced,
    settings_for,
)
from tests.factories import create_user
from tests.sync_support import ScriptedInventory, job, make_service, record
from tests.vault_helpers import seal_rows


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    from tests.conftest import make_settings

    return make_settings(database_url, tmp_path, backup_key=new_backup_key())


async def test_a_running_servers_backup_verifies_and_restores_the_same_inventory_and_secrets(
    runtime: Runtime, settings: Settings, template: Template, database_url: str, tmp_path: Path
) -> None:
    # given a running server with synced inventory and stored credentials
    await seed_synced(runtime)
    source = owner_url(template, database_url)
    expected_inventory = await inventory_of(source)
    expected_secrets = await secrets_of(source, settings)
    assert len(expected_inventory) == 120 and len(expected_secrets) == 3

    # when it is backed up (as the application's role: RLS does not hide rows from the dump)
    backup = tmp_path / "stratograph.backup"
    manifest = await create_backup(settings, backup)

    # then the file is encrypted and carries its manifest
    raw = backup.read_bytes()
    assert b"c0-us-east-1-0" not in raw and b"cloud_credentials" not in raw
    assert manifest.row_counts["resources"] == 120
    assert manifest.credentials_per_key == {"k1": 3}
    assert set(manifest.vault_keys) == {"k1"}
    assert backup.stat().st_mode & 0o077 == 0

    # when it is verified elsewhere (a scratch database, as the owner)
    verifier = settings_for(settings, source, tmp_path)
    with tempfile.TemporaryDirectory() as work:
        report = await verify_backup(verifier, backup, Path(work))
    # then every table matches the manifest and every credential opens
    assert report.ok, report.lines()
    assert report.opened == {"k1": 3} and not report.unreadable

    # when it is restored into another database
    async with empty_target(template, tmp_path) as target:
        with tempfile.TemporaryDirectory() as work:
            await restore_backup(settings_for(settings, target, tmp_path), backup, Path(work))
        # then the inventory and the working credentials are the same
        assert await inventory_of(target) == expected_inventory
        assert await secrets_of(target, settings) == expected_secrets


async def _restored_facts(
    settings: Settings, template: Template, path: Path, tmp_path: Path
) -> tuple[int, int]:
    """(resources, sum of the jobs' `added`) inside a backup."""
    with tempfile.TemporaryDirectory() as work:
        manifest, payload = open_backup(settings, path, Path(work))
        if manifest.backend == "sqlite":
            with sqlite3.connect(payload) as connection:
                resources = connection.execute("SELECT count(*) FROM resources").fetchone()[0]
                added = connection.execute("SELECT sum(added) FROM sync_jobs").fetchone()[0]
            return int(resources), int(added or 0)
        async with empty_target(template, tmp_path) as target:
            await postgres.restore(payload, target)
            connection = await postgres.connect(target)
            try:
                resources = await connection.fetchval("SELECT count(*) FROM resources")
                added = await connection.fetchval("SELECT sum(added) FROM sync_jobs")
            finally:
                await connection.close()
            return int(resources), int(added or 0)


async def test_a_backup_taken_while_a_sync_writes_is_consistent(
    runtime: Runtime, settings: Settings, template: Template, tmp_path: Path
) -> None:
    # given a sync of 8 scopes, half of them held open, the other half written
    user = await create_user(runtime)
    (credential_id,) = await seal_rows(runtime.database, runtime.vault, [user.id], 1)
    scopes = [Scope(f"region-{n}", "AWS::EC2::Instance") for n in range(8)]
    inventory = ScriptedInventory(
        {scope: [record(f"{scope.region}-{i}", scope) for i in range(50)] for scope in scopes}
    )
    gate = asyncio.Event()
    for scope in scopes[4:]:
        inventory.gates[scope] = gate
    service = make_service(runtime.database, {credential_id: inventory}, concurrency=8)
    (started,) = await service.start([credential_id])
    draining = asyncio.create_task(service.runner.drain())
    deadline = asyncio.get_running_loop().time() + 30
    while (await job(runtime.database, started.id)).added < 200:
        assert asyncio.get_running_loop().time() < deadline, "the sync never wrote its scopes"
        await asyncio.sleep(0.02)

    # when one backup is taken mid-sync and another while the held scopes are being written
    middle = tmp_path / "middle.backup"
    await create_backup(settings, middle)
    gate.set()
    during = tmp_path / "during.backup"
    await asyncio.gather(create_backup(settings, during), draining)

    # then each backup's resources agree with its own job counts (rows and progress are
    # committed together, so a consistent snapshot can never split them)
    resources, added = await _restored_facts(settings, template, middle, tmp_path)
    assert (resources, added) == (200, 200)
    resources, added = await _restored_facts(settings, template, during, tmp_path)
    assert resources == added and 200 <= resources <= 400
    assert (await job(runtime.database, started.id)).added == 400


async def test_the_commands_back_up_and_verify_with_a_report(
    runtime: Runtime,
    settings: Settings,
    template: Template,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given synced data, and the commands' environment (the owner's URL, the same keys)
    await seed_synced(runtime, credentials=2, per_scope=5)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", owner_url(template, database_url))
    monkeypatch.setenv("SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("ENCRYPTION_KEYS", ",".join(settings.encryption_keys))
    monkeypatch.setenv("BACKUP_KEY", settings.backup_key)
    monkeypatch.setenv("DEV_SECRETS_FILE", str(tmp_path / "cli-secrets.json"))
    backup = tmp_path / "cli.backup"

    def run(*argv: str) -> int:
        get_settings.cache_clear()
        try:
            return cli.main(list(argv))
        finally:
            get_settings.cache_clear()

    # when `stratograph backup` and `stratograph restore --verify` run
    assert await asyncio.to_thread(run, "backup", "--output", str(backup)) == 0
    assert "vault keys needed to restore: k1" in capsys.readouterr().out
    assert await asyncio.to_thread(run, "restore", "--verify", str(backup)) == 0
    # then the report lists every table and says every credential opened
    report = capsys.readouterr().out
    assert "resources: 20 rows (manifest 20) ok" in report
    assert "vault key 'k1': 2 credentials open, 0 do not" in report
    assert report.rstrip().endswith("verified: every table and credential is as the manifest says")


async def test_a_backup_of_an_older_schema_is_migrated_when_verified_and_restored(
    tmp_path: Path,
) -> None:
    # given a SQLite database still at the schema before this version's last migration
    from alembic.script import ScriptDirectory

    from db.migrate import alembic_config, upgrade_async
    from tests.conftest import make_settings

    old_url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await upgrade_async(old_url, "0003_naming")
    settings = make_settings(old_url, tmp_path, backup_key=new_backup_key())
    backup = tmp_path / "old.backup"
    manifest = await create_backup(settings, backup)
    assert manifest.schema_revision == "0003_naming" and "key_ages" not in manifest.row_counts

    # when it is verified: then the scratch copy migrates and matches
    with tempfile.TemporaryDirectory() as work:
        report = await verify_backup(settings, backup, Path(work))
    assert report.ok and "key_ages" in report.row_counts

    # when it is restored into a new file: then that database is at this version's head
    target = settings_for(settings, f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", tmp_path)
    with tempfile.TemporaryDirectory() as work:
        await restore_backup(target, backup, Path(work))
    with sqlite3.connect(tmp_path / "new.db") as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert revision == head


async def _totals(database_url: str) -> tuple[int, int]:
    """(sum of the aggregates' counts, live resource rows) of a database."""
    database = Database(create_engine(database_url))
    try:
        async with database.system_session() as session:
            total = await session.scalar(select(func.sum(ResourceCountRow.count)))
            live = await session.scalar(
                select(func.count()).where(CloudResourceRow.deleted_at.is_(None))
            )
        return int(total or 0), int(live or 0)
    finally:
        await database.dispose()


async def test_a_restore_rebuilds_the_inventory_totals_from_the_restored_rows(
    runtime: Runtime, settings: Settings, template: Template, database_url: str, tmp_path: Path
) -> None:
    # given a server whose inventory totals were lost (as a hand-edited database could be)
    await seed_synced(runtime)
    source = owner_url(template, database_url)
    async with runtime.database.system_session() as session:
        await session.execute(delete(ResourceCountRow))
    assert await _totals(source) == (0, 120)
    # when it is backed up and restored elsewhere
    backup = tmp_path / "stratograph.backup"
    await create_backup(settings, backup)
    async with empty_target(template, tmp_path) as target:
        with tempfile.TemporaryDirectory() as work:
            await restore_backup(settings_for(settings, target, tmp_path), backup, Path(work))
        # then the restored totals are those of the restored rows
        assert await _totals(target) == (120, 120)
