"""Writing a backup: snapshot the live database, describe it, seal it under BACKUP_KEY."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from core.settings import Settings
from security.key_ages import fingerprint
from stratograph.backup import postgres, sqlite
from stratograph.backup.container import CHUNK_BYTES, BackupFileError, Writer
from stratograph.backup.manifest import Manifest
from stratograph.backup.snapshot import SnapshotFacts

READ_BYTES = CHUNK_BYTES


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while block := source.read(READ_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


async def take_snapshot(settings: Settings, target: Path) -> SnapshotFacts:
    if settings.is_sqlite:
        return await asyncio.to_thread(sqlite.snapshot, settings.database_url, target)
    return await postgres.snapshot(settings.database_url, target)


def _prepare(output: Path) -> None:
    if output.exists():
        raise BackupFileError(f"{output} already exists; choose a new file name")
    output.parent.mkdir(parents=True, exist_ok=True)


def _seal(payload: Path, output: Path, key: bytes, manifest: Manifest) -> None:
    partial = payload.with_name("backup")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, payload.open("rb") as source:
        writer = Writer(out, key, manifest.to_bytes())
        while block := source.read(READ_BYTES):
            writer.write(block)
        writer.close()
        out.flush()
        os.fsync(out.fileno())
    # Appears complete or not at all.
    os.replace(partial, output)


async def create_backup(settings: Settings, output: Path) -> Manifest:
    """Write an encrypted backup to `output` (which must not exist); returns its manifest."""
    key = settings.backup_key_bytes
    await asyncio.to_thread(_prepare, output)
    ring = settings.vault_keys
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as work:
        payload = Path(work) / "payload"
        facts = await take_snapshot(settings, payload)
        checksum, size = await asyncio.to_thread(_digest, payload)
        manifest = Manifest(
            backend="sqlite" if settings.is_sqlite else "postgresql",
            schema_revision=facts.schema_revision,
            created_at=datetime.now(UTC).isoformat(),
            vault_keys={
                kid: fingerprint(ring[kid]) if kid in ring else None
                for kid in sorted(facts.credentials_per_key)
            },
            credentials_per_key=facts.credentials_per_key,
            row_counts=facts.row_counts,
            payload_sha256=checksum,
            payload_bytes=size,
        )
        await asyncio.to_thread(_seal, payload, output, key, manifest)
    return manifest
