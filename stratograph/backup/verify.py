"""`stratograph restore --verify FILE`: the "test your recovery" step as one command.

Restores into a scratch database (a temporary SQLite file, or a new PostgreSQL database beside
DATABASE_URL's), migrates it, compares its row counts with the manifest, and opens every stored
credential with the configured key ring. The scratch database is removed afterwards; the real
one is never touched.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from core.settings import Settings
from db.engine import Database, create_engine
from db.migrate import upgrade_async
from db.models import CloudCredentialRow
from providers.secrets import deserialize
from security.vault import Sealed, Vault, VaultError
from stratograph.backup import postgres, sqlite
from stratograph.backup.manifest import Manifest
from stratograph.backup.restore import check_restorable, open_backup, restore_payload


@dataclass
class VerifyReport:
    manifest: Manifest
    row_counts: dict[str, int] = field(default_factory=dict)
    opened: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)

    @property
    def count_mismatches(self) -> dict[str, tuple[int, int]]:
        return {
            table: (expected, self.row_counts.get(table, -1))
            for table, expected in self.manifest.row_counts.items()
            if self.row_counts.get(table, -1) != expected
        }

    @property
    def ok(self) -> bool:
        return not self.count_mismatches and not self.unreadable

    def lines(self) -> list[str]:
        m = self.manifest
        out = [
            f"backup of a {m.backend} database at schema revision {m.schema_revision}, "
            f"made {m.created_at}",
            f"payload: {m.payload_bytes} bytes, sha256 {m.payload_sha256[:16]}… (matches)",
            "restored into a scratch database and migrated to this version's schema",
        ]
        for table in sorted(m.row_counts):
            actual = self.row_counts.get(table, "missing")
            mark = "ok" if actual == m.row_counts[table] else "MISMATCH"
            out.append(f"  {table}: {actual} rows (manifest {m.row_counts[table]}) {mark}")
        for kid in sorted(set(self.opened) | set(self.unreadable)):
            out.append(
                f"  vault key {kid!r}: {self.opened[kid]} credentials open, "
                f"{self.unreadable[kid]} do not"
            )
        out.append(
            "verified: every table and credential is as the manifest says"
            if self.ok
            else "FAILED: the restored database differs from the manifest (see above)"
        )
        return out


async def open_every_credential(database_url: str, vault: Vault, report: VerifyReport) -> None:
    database = Database(create_engine(database_url))
    try:
        async with database.system_session() as session:
            rows = (await session.scalars(select(CloudCredentialRow))).all()
    finally:
        await database.dispose()
    for row in rows:
        try:
            plaintext = vault.open(Sealed(row.key_id, row.ciphertext), row.user_id, row.id)
            deserialize(row.provider, plaintext)
        except (VaultError, ValueError, TypeError):
            report.unreadable[row.key_id] += 1
        else:
            report.opened[row.key_id] += 1


async def verify_backup(settings: Settings, path: Path, workdir: Path) -> VerifyReport:
    manifest, payload = await asyncio.to_thread(open_backup, settings, path, workdir)
    check_restorable(manifest, settings)
    report = VerifyReport(manifest)
    if settings.is_sqlite:
        scratch = f"sqlite+aiosqlite:///{workdir / 'scratch.db'}"
        await restore_payload(manifest, payload, scratch)
        await upgrade_async(scratch)
        report.row_counts = await asyncio.to_thread(sqlite.row_counts, scratch)
        await open_every_credential(scratch, Vault(settings.vault_keys), report)
        return report
    scratch_url = await postgres.create_scratch(settings.database_url)
    try:
        rendered = scratch_url.render_as_string(hide_password=False)
        await restore_payload(manifest, payload, rendered)
        await upgrade_async(rendered)
        report.row_counts = await postgres.row_counts(scratch_url)
        await open_every_credential(rendered, Vault(settings.vault_keys), report)
    finally:
        await postgres.drop_scratch(settings.database_url, scratch_url)
    return report
