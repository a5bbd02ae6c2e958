"""Backups that must be refused — truncated, altered, under another key, from a newer schema,
or needing a vault key this server lacks — are refused before anything is written."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import secrets
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from core.settings import Settings, SettingsError, get_settings
from db.engine import Database, create_engine
from db.models import UserRow
from graph.runtime import Runtime
from stratograph import cli
from stratograph.backup.container import CHUNK_BYTES, BackupFileError, Writer
from stratograph.backup.create import create_backup
from stratograph.backup.manifest import Manifest
from stratograph.backup.restore import RestoreRefused, open_backup, restore_backup
from stratograph.backup.verify import verify_backup
from tests.backup_support import (
    Template,
    empty_target,
    inventory_of,
    new_backup_key,
    owner_url,
    settings_for,
)
from tests.conftest import make_settings
from tests.factories import create_user
from tests.vault_helpers import key_entry, new_key, seal_rows


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, backup_key=new_backup_key())


@pytest.fixture
async def backup(runtime: Runtime, settings: Settings, tmp_path: Path) -> Path:
    user = await create_user(runtime)
    await seal_rows(runtime.database, runtime.vault, [user.id], 2)
    path = tmp_path / "good.backup"
    await create_backup(settings, path)
    return path


def _open(settings: Settings, path: Path) -> Manifest:
    with tempfile.TemporaryDirectory() as work:
        manifest, _ = open_backup(settings, path, Path(work))
    return manifest


async def _refused_restore(
    settings: Settings, template: Template, tmp_path: Path, path: Path, **overrides: object
) -> str:
    """Restore into a fresh database holding one marker user; the refusal's message. The marker
    must survive: nothing may be written before the refusal."""
    async with empty_target(template, tmp_path) as target:
        target_settings = settings_for(settings, target, tmp_path, **overrides)
        runtime = Runtime.from_settings(target_settings)
        try:
            await create_user(runtime, "marker@example.com")
        finally:
            await runtime.close()
        with tempfile.TemporaryDirectory() as work, pytest.raises(BackupFileError) as refused:
            await restore_backup(target_settings, path, Path(work))
        emails = await _emails(target)
        assert emails == {"marker@example.com"}, "the refused restore wrote to the database"
        return str(refused.value)


async def _emails(database_url: str) -> set[str]:
    database = Database(create_engine(database_url))
    try:
        async with database.system_session() as session:
            return set((await session.scalars(select(UserRow.email))).all())
    finally:
        await database.dispose()


@pytest.mark.parametrize("keep", [0.5, 0.999, "boundary"])
async def test_a_truncated_backup_is_refused(
    backup: Path, settings: Settings, template: Template, tmp_path: Path, keep: object
) -> None:
    # given a backup cut short (half-way, one byte short, or exactly before its final chunk)
    data = await asyncio.to_thread(backup.read_bytes)
    if keep == "boundary":
        # the final chunk of a small backup is its last (u32 length + sealed bytes)
        cut = _final_chunk_start(data)
    else:
        assert isinstance(keep, float)
        cut = int(len(data) * keep)
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(data[:cut])
    # when it is restored: then it is refused as truncated, and nothing is written
    message = await _refused_restore(settings, template, tmp_path, truncated)
    assert "truncated" in message


def _final_chunk_start(data: bytes) -> int:
    """Offset of the last chunk, walking the container's length prefixes."""
    header_length = int.from_bytes(data[19:23], "big")
    offset = 23 + header_length
    last = offset
    while offset < len(data):
        last = offset
        offset += 4 + int.from_bytes(data[offset : offset + 4], "big")
    return last


@pytest.mark.parametrize("where", ["header", "manifest", "payload", "appended"])
async def test_an_altered_backup_is_refused(
    backup: Path, settings: Settings, template: Template, tmp_path: Path, where: str
) -> None:
    # given a backup with one byte flipped (or bytes appended)
    data = bytearray(await asyncio.to_thread(backup.read_bytes))
    header_end = 23 + int.from_bytes(data[19:23], "big")
    if where == "header":
        data[header_end - 3] ^= 0x01  # inside the header JSON (a closing value)
    elif where == "manifest":
        data[header_end + 10] ^= 0x01
    elif where == "payload":
        data[-40] ^= 0x01
    else:
        data += b"\x00\x00\x00\x10" + secrets.token_bytes(16)
    altered = tmp_path / "altered.backup"
    altered.write_bytes(bytes(data))
    # when it is restored: then it is refused, and nothing is written
    message = await _refused_restore(settings, template, tmp_path, altered)
    assert any(word in message for word in ("altered", "after its final chunk", "malformed"))


async def test_a_backup_under_another_backup_key_is_refused(
    backup: Path, settings: Settings, template: Template, tmp_path: Path
) -> None:
    message = await _refused_restore(
        settings, template, tmp_path, backup, backup_key=new_backup_key()
    )
    assert "another BACKUP_KEY" in message


async def test_a_backup_from_a_newer_schema_is_refused(
    backup: Path, settings: Settings, template: Template, tmp_path: Path
) -> None:
    # given an authentic backup (sealed under the right key) whose schema is newer than ours
    with tempfile.TemporaryDirectory() as work:
        manifest, payload = open_backup(settings, backup, Path(work))
        newer = dataclasses.replace(manifest, schema_revision="9999_from_the_future")
        future = tmp_path / "future.backup"
        with future.open("wb") as out:
            writer = Writer(out, settings.backup_key_bytes, newer.to_bytes())
            writer.write(payload.read_bytes())
            writer.close()
    # when it is restored: then it is refused, naming the revision, and nothing is written
    message = await _refused_restore(settings, template, tmp_path, future)
    assert "newer schema" in message and "9999_from_the_future" in message


async def test_a_restore_whose_key_ring_lacks_a_needed_key_names_it_and_writes_nothing(
    backup: Path, settings: Settings, template: Template, tmp_path: Path
) -> None:
    # given a server whose ring has only a new key, not the backup's k1
    ring = [key_entry("k2", new_key())]
    # when it restores: then the refusal names the missing key id and how many need it
    message = await _refused_restore(settings, template, tmp_path, backup, encryption_keys=ring)
    assert "'k1' (2 credentials)" in message and "nothing was written" in message
    # and --verify refuses the same way
    with tempfile.TemporaryDirectory() as work, pytest.raises(RestoreRefused, match="'k1'"):
        await verify_backup(
            settings_for(settings, settings.database_url, tmp_path, encryption_keys=ring),
            backup,
            Path(work),
        )


async def test_a_restore_with_other_material_under_the_same_key_id_is_refused(
    backup: Path, settings: Settings, template: Template, tmp_path: Path
) -> None:
    ring = [key_entry("k1", new_key())]
    message = await _refused_restore(settings, template, tmp_path, backup, encryption_keys=ring)
    assert "other key material" in message and "'k1'" in message


def test_backup_key_missing_in_production_is_a_clear_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given production settings that are complete except for BACKUP_KEY
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("ENCRYPTION_KEYS", key_entry("p1", new_key()))
    monkeypatch.setenv("ALLOWED_HOSTS", "api.example.com")
    monkeypatch.delenv("BACKUP_KEY", raising=False)
    get_settings.cache_clear()
    try:
        # when a backup is asked for
        status = cli.main(["backup", "--output", str(tmp_path / "x.backup")])
    finally:
        get_settings.cache_clear()
    # then it refuses, says what to set and how, and writes no file
    assert status != 0
    err = capsys.readouterr().err
    assert "BACKUP_KEY is not set" in err and "base64" in err
    assert not (tmp_path / "x.backup").exists()


def test_backup_key_must_be_its_own_key(tmp_path: Path) -> None:
    vault_key = new_key()
    with pytest.raises(SettingsError, match="its own key"):
        make_settings(
            "sqlite+aiosqlite:///x.db",
            tmp_path,
            encryption_keys=[key_entry("k1", vault_key)],
            backup_key=base64.b64encode(vault_key).decode(),
        )
    with pytest.raises(SettingsError, match="32 bytes"):
        make_settings("sqlite+aiosqlite:///x.db", tmp_path, backup_key="c2hvcnQ=")


@pytest.mark.parametrize("extra", [12345, 0])
async def test_a_large_payload_spans_chunks_and_round_trips(
    settings: Settings, tmp_path: Path, extra: int
) -> None:
    # given a payload of several chunks (an exact multiple of the chunk size, or not)
    payload = secrets.token_bytes(CHUNK_BYTES * 2 + extra)
    manifest = Manifest(
        backend="sqlite",
        schema_revision="0001",
        created_at="now",
        vault_keys={},
        credentials_per_key={},
        row_counts={},
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        payload_bytes=len(payload),
    )
    path = tmp_path / "big.backup"
    with path.open("wb") as out:
        writer = Writer(out, settings.backup_key_bytes, manifest.to_bytes())
        for start in range(0, len(payload), 65536):
            writer.write(payload[start : start + 65536])
        writer.close()
    # when it is opened: then the payload comes back byte for byte
    with tempfile.TemporaryDirectory() as work:
        _, opened = open_backup(settings, path, Path(work))
        assert opened.read_bytes() == payload
    # and dropping a whole middle chunk is detected
    data = path.read_bytes()
    header_end = 23 + int.from_bytes(data[19:23], "big")
    first = header_end + 4 + int.from_bytes(data[header_end : header_end + 4], "big")
    second = first + 4 + int.from_bytes(data[first : first + 4], "big")
    spliced = tmp_path / "spliced.backup"
    spliced.write_bytes(data[:first] + data[second:])
    with tempfile.TemporaryDirectory() as work, pytest.raises(BackupFileError, match="altered"):
        open_backup(settings, spliced, Path(work))


async def test_the_existing_target_is_not_overwritten_by_a_new_backup(
    backup: Path, settings: Settings
) -> None:
    with pytest.raises(BackupFileError, match="already exists"):
        await create_backup(settings, backup)
    assert _open(settings, backup).credentials_per_key == {"k1": 2}


async def test_a_restore_replaces_the_target_and_keeps_working_after(
    backup: Path, settings: Settings, template: Template, tmp_path: Path, database_url: str
) -> None:
    # a restore into a database that already holds other data leaves exactly the backup's
    async with empty_target(template, tmp_path) as target:
        target_settings = settings_for(settings, target, tmp_path)
        runtime = Runtime.from_settings(target_settings)
        try:
            await create_user(runtime, "someone-else@example.com")
        finally:
            await runtime.close()
        with tempfile.TemporaryDirectory() as work:
            await restore_backup(target_settings, backup, Path(work))
        source = owner_url(template, database_url)
        assert await _emails(target) == await _emails(source)
        assert "someone-else@example.com" not in await _emails(target)
        assert await inventory_of(target) == await inventory_of(source)


async def test_without_pg_dump_the_backup_says_what_to_use_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a PostgreSQL database and a machine without the client tools
    from stratograph.backup import postgres

    monkeypatch.setattr("shutil.which", lambda _: None)
    monkeypatch.setattr("glob.glob", lambda _: [])
    settings = make_settings(
        "postgresql+asyncpg://nobody@127.0.0.1:1/stratograph",
        tmp_path,
        backup_key=new_backup_key(),
    )
    output = tmp_path / "pg.backup"
    # when a backup is asked for: then it names the missing tool and the physical alternative
    with pytest.raises(postgres.ToolMissing) as missing:
        await create_backup(settings, output)
    assert "pg_dump was not found" in str(missing.value)
    assert "pg_basebackup" in str(missing.value) and "WAL archiving" in str(missing.value)
    assert not output.exists()
