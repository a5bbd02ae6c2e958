"""The command-line side of backups: run, print a short report, exit 0 / 1."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from core.settings import Settings
from stratograph.backup.container import BackupFileError
from stratograph.backup.create import create_backup
from stratograph.backup.restore import restore_backup
from stratograph.backup.verify import verify_backup


def _refused(command: str, error: Exception) -> int:
    print(f"stratograph {command}: {error}", file=sys.stderr)
    return 1


def run_backup(settings: Settings, output: Path) -> int:
    try:
        manifest = asyncio.run(create_backup(settings, output))
    except BackupFileError as exc:
        return _refused("backup", exc)
    rows = sum(manifest.row_counts.values())
    keys = ", ".join(manifest.vault_keys) or "none"
    print(
        f"backup written to {output}: {manifest.backend}, schema revision "
        f"{manifest.schema_revision}, {rows} rows in {len(manifest.row_counts)} tables, "
        f"vault keys needed to restore: {keys}"
    )
    return 0


def run_restore(settings: Settings, path: Path, *, verify: bool) -> int:
    # Decrypted payloads live only in a private temporary directory, removed afterwards.
    with tempfile.TemporaryDirectory(prefix="stratograph-restore-") as work:
        try:
            if verify:
                report = asyncio.run(verify_backup(settings, path, Path(work)))
            else:
                manifest = asyncio.run(restore_backup(settings, path, Path(work)))
        except BackupFileError as exc:
            return _refused("restore", exc)
    if verify:
        print("\n".join(report.lines()))
        return 0 if report.ok else 1
    print(
        f"restored {path} ({manifest.backend}, revision {manifest.schema_revision}, made "
        f"{manifest.created_at}) into DATABASE_URL and migrated it; restart the servers"
    )
    return 0
