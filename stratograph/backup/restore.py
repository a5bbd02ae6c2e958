"""Reading a backup back: decrypt and authenticate all of it, check that this server can use
it (backend, schema revision, vault keys), and only then write to a database."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from alembic.script import ScriptDirectory

from core.settings import Settings
from db.engine import Database, create_engine
from db.migrate import alembic_config, upgrade_async
from security.key_ages import fingerprint
from stratograph.backup import postgres, sqlite
from stratograph.backup.container import BackupFileError, Reader
from stratograph.backup.manifest import Manifest
from sync import aggregates


class RestoreRefused(BackupFileError):
    """The backup is intact but cannot be restored here; nothing was written."""


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {revision.revision for revision in script.walk_revisions()}


def open_backup(settings: Settings, path: Path, workdir: Path) -> tuple[Manifest, Path]:
    """Decrypt `path` into `workdir` (0600); every chunk authenticated, checksum compared."""
    key = settings.backup_key_bytes
    payload = workdir / "payload"
    try:
        source = path.open("rb")
    except OSError as exc:
        raise BackupFileError(f"cannot read {path}: {exc.strerror}") from exc
    with source:
        reader = Reader(source, key)
        manifest = Manifest.from_bytes(reader.manifest)
        digest = hashlib.sha256()
        size = 0
        fd = os.open(payload, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in reader.chunks():
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    if digest.hexdigest() != manifest.payload_sha256 or size != manifest.payload_bytes:
        raise BackupFileError("the backup's content does not match its manifest's checksum")
    return manifest, payload


def check_restorable(manifest: Manifest, settings: Settings) -> None:
    """Refuse, naming the reason, anything this server could not use after a restore."""
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest.backend != backend:
        raise RestoreRefused(
            f"this is a backup of a {manifest.backend} database; DATABASE_URL is {backend}"
        )
    if manifest.schema_revision not in known_revisions():
        raise RestoreRefused(
            f"the backup is from a newer schema (revision {manifest.schema_revision!r}) than "
            "this stratograph knows; restore it with the version that made it, or a newer one"
        )
    ring = settings.vault_keys
    missing = sorted(kid for kid in manifest.vault_keys if kid not in ring)
    if missing:
        needed = ", ".join(
            f"{kid!r} ({manifest.credentials_per_key.get(kid, 0)} credentials)" for kid in missing
        )
        raise RestoreRefused(
            f"ENCRYPTION_KEYS lacks vault key ids the backup's credentials are sealed with: "
            f"{needed}. Add those keys (after the primary) and run the restore again; nothing "
            "was written."
        )
    wrong = sorted(
        kid
        for kid, expected in manifest.vault_keys.items()
        if expected is not None and fingerprint(ring[kid]) != expected
    )
    if wrong:
        raise RestoreRefused(
            "ENCRYPTION_KEYS holds other key material under the key ids "
            + ", ".join(repr(kid) for kid in wrong)
            + " than the backup's credentials were sealed with; nothing was written."
        )


async def restore_payload(manifest: Manifest, payload: Path, database_url: str) -> None:
    if manifest.backend == "sqlite":
        await asyncio.to_thread(sqlite.restore, payload, database_url)
    else:
        await postgres.restore(payload, database_url)


async def restore_backup(settings: Settings, path: Path, workdir: Path) -> Manifest:
    """Restore into DATABASE_URL, then migrate it to this version's schema."""
    manifest, payload = await asyncio.to_thread(open_backup, settings, path, workdir)
    check_restorable(manifest, settings)
    await restore_payload(manifest, payload, settings.database_url)
    await upgrade_async(settings.database_url)
    await rebuild_aggregates(settings.database_url)
    return manifest


async def rebuild_aggregates(database_url: str) -> None:
    """Recompute the inventory aggregates from the restored resource rows, so they hold
    whatever the backup's rows hold (a backup is never trusted to carry them consistently)."""
    database = Database(create_engine(database_url, pool_size=1))
    try:
        async with database.system_session() as session:
            await aggregates.rebuild(session)
    finally:
        await database.dispose()
