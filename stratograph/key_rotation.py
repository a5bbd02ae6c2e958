"""`stratograph rotate-keys`: re-encrypt every credential (and every TOTP secret) under the
primary vault key.

Batches of rows not yet under the primary key are re-sealed, each batch in one transaction of a
system session, so a crash loses at most the uncommitted batch, which is still sealed with its old
key; running again simply picks up what is left. A row is only overwritten if its ciphertext is
still the one that was read (compare-and-swap), so a secret replaced by its owner meanwhile is
never put back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, update
from tqdm import tqdm

from core.settings import Settings
from db.engine import Database, create_engine
from db.models import CloudCredentialRow, TotpFactorRow
from integrations.webhooks.key_rotation import reseal_webhook_secrets, webhook_key_usage
from security.vault import TOTP_SECRET, Sealed, Vault, VaultError

TABLE: Any = CloudCredentialRow.__table__
FACTORS: Any = TotpFactorRow.__table__
DEFAULT_BATCH_SIZE = 500


class RotationError(Exception):
    """Rotation cannot start; the message says why and what to do (no traceback needed)."""


@dataclass
class RotationReport:
    primary_key_id: str
    to_rotate: int = 0
    rotated: int = 0
    unreadable: list[uuid.UUID] = field(default_factory=list)
    remaining: int = 0
    # Keys of the ring that nothing sealed uses any more: safe to remove from ENCRYPTION_KEYS.
    unused_key_ids: list[str] = field(default_factory=list)
    totp_rotated: int = 0
    totp_unreadable: list[uuid.UUID] = field(default_factory=list)
    webhook_secrets_rotated: int = 0
    unreadable_webhooks: list[uuid.UUID] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.remaining == 0 and not self.unreadable and not self.totp_unreadable


async def key_usage(database: Database) -> dict[str, int]:
    """How many credentials each key id seals."""
    async with database.system_session() as session:
        rows = await session.execute(
            select(CloudCredentialRow.key_id, func.count()).group_by(CloudCredentialRow.key_id)
        )
        return {str(key_id): int(count) for key_id, count in rows}


def _refuse_unknown_keys(usage: dict[str, int], vault: Vault) -> None:
    unknown = {kid: n for kid, n in usage.items() if not vault.has_key(kid)}
    if unknown:
        listed = ", ".join(f"{kid!r} ({n} credentials)" for kid, n in sorted(unknown.items()))
        raise RotationError(
            f"credentials are sealed with key ids that ENCRYPTION_KEYS does not contain: {listed}. "
            "Put those keys back in ENCRYPTION_KEYS (after the primary) and run rotate-keys "
            "again. Nothing was changed."
        )


_SWAP = (
    update(TABLE)
    .where(
        TABLE.c.id == bindparam("b_id"),
        TABLE.c.key_id == bindparam("b_old_key_id"),
        TABLE.c.ciphertext == bindparam("b_old_ciphertext"),
    )
    # Re-encryption is not a change the owner made: keep `updated_at` as it was.
    .values(
        key_id=bindparam("b_key_id"),
        ciphertext=bindparam("b_ciphertext"),
        updated_at=TABLE.c.updated_at,
    )
)


async def rotate_batch(
    database: Database, vault: Vault, after_id: uuid.UUID | None, batch_size: int
) -> tuple[int, list[uuid.UUID], uuid.UUID | None]:
    """Re-seal the next batch after `after_id`; returns (rows seen, unreadable ids, last id)."""
    primary = vault.primary_key_id
    statement = select(TABLE.c.id, TABLE.c.user_id, TABLE.c.key_id, TABLE.c.ciphertext).where(
        TABLE.c.key_id != primary
    )
    if after_id is not None:
        statement = statement.where(TABLE.c.id > after_id)
    unreadable: list[uuid.UUID] = []
    async with database.system_session() as session:
        rows = (await session.execute(statement.order_by(TABLE.c.id).limit(batch_size))).all()
        swaps = []
        for credential_id, owner_id, key_id, ciphertext in rows:
            try:
                sealed = vault.reseal(Sealed(key_id, ciphertext), owner_id, credential_id)
            except VaultError:
                unreadable.append(credential_id)  # left exactly as it is; reported at the end
                continue
            swaps.append(
                {
                    "b_id": credential_id,
                    "b_old_key_id": key_id,
                    "b_old_ciphertext": ciphertext,
                    "b_key_id": sealed.key_id,
                    "b_ciphertext": sealed.blob,
                }
            )
        if swaps:
            await session.execute(_SWAP, swaps)
    return len(rows), unreadable, rows[-1][0] if rows else None


async def totp_key_ids(database: Database) -> set[str]:
    async with database.system_session() as session:
        return {str(kid) for kid in await session.scalars(select(FACTORS.c.key_id).distinct())}


async def rotate_totp_secrets(database: Database, vault: Vault) -> tuple[int, list[uuid.UUID]]:
    """Re-seal TOTP secrets not under the primary key (one small row per enrolled user), with
    the same compare-and-swap as credentials; returns (rotated, unreadable ids)."""
    primary = vault.primary_key_id
    rotated, unreadable = 0, []
    async with database.system_session() as session:
        rows = (
            await session.execute(
                select(FACTORS.c.id, FACTORS.c.user_id, FACTORS.c.key_id, FACTORS.c.ciphertext)
                .where(FACTORS.c.key_id != primary)
                .order_by(FACTORS.c.id)
            )
        ).all()
        for row_id, owner_id, key_id, ciphertext in rows:
            try:
                opened = vault.open(Sealed(key_id, ciphertext), owner_id, row_id, TOTP_SECRET)
            except VaultError:
                unreadable.append(row_id)
                continue
            sealed = vault.seal(opened, owner_id, row_id, TOTP_SECRET)
            await session.execute(
                update(FACTORS)
                .where(FACTORS.c.id == row_id, FACTORS.c.ciphertext == ciphertext)
                .values(key_id=sealed.key_id, ciphertext=sealed.blob)
            )
            rotated += 1
    return rotated, unreadable


async def rotate_keys(
    database: Database,
    vault: Vault,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    after_batch: Callable[[int], None] | None = None,
) -> RotationReport:
    """Re-seal every credential not under the primary key. `after_batch(n)` runs after the n-th
    batch has committed (tests use it to interrupt a rotation half-way)."""
    if batch_size < 1:
        raise RotationError("--batch-size must be at least 1")
    report = RotationReport(primary_key_id=vault.primary_key_id)
    usage = await key_usage(database)
    _refuse_unknown_keys(usage, vault)
    report.to_rotate = sum(n for kid, n in usage.items() if kid != vault.primary_key_id)
    after_id: uuid.UUID | None = None
    batches = 0
    with tqdm(
        total=report.to_rotate, unit="credential", desc="rotate-keys", disable=not progress
    ) as bar:
        while True:
            seen, unreadable, after_id = await rotate_batch(database, vault, after_id, batch_size)
            if not seen:
                break
            report.rotated += seen - len(unreadable)
            report.unreadable += unreadable
            bar.update(seen)
            batches += 1
            if after_batch is not None:
                after_batch(batches)
    report.totp_rotated, report.totp_unreadable = await rotate_totp_secrets(database, vault)
    usage = await key_usage(database)
    report.remaining = sum(n for kid, n in usage.items() if kid != vault.primary_key_id)
    rotated, unreadable = await reseal_webhook_secrets(database, vault)
    report.webhook_secrets_rotated, report.unreadable_webhooks = rotated, unreadable
    # Keys still sealing a two-factor or webhook secret are in use too.
    in_use = set(usage) | await totp_key_ids(database) | set(await webhook_key_usage(database))
    report.unused_key_ids = [
        kid for kid in vault.key_ids if kid != vault.primary_key_id and kid not in in_use
    ]
    return report


def describe(report: RotationReport) -> str:
    if report.to_rotate == 0:
        lines = [f"nothing to rotate: every credential is under key {report.primary_key_id!r}"]
    else:
        lines = [
            f"re-encrypted {report.rotated} of {report.to_rotate} credentials "
            f"under primary key {report.primary_key_id!r}"
        ]
    if report.unreadable:
        shown = ", ".join(str(i) for i in report.unreadable[:20])
        lines.append(
            f"{len(report.unreadable)} credentials could not be decrypted and were left "
            "untouched (the key material for their key id in ENCRYPTION_KEYS is wrong, or the "
            f"row was altered; fix the key, or their owners must replace them): {shown}"
        )
    if report.remaining:
        lines.append(f"{report.remaining} credentials are still sealed with other keys")
    if report.webhook_secrets_rotated:
        lines.append(f"re-encrypted {report.webhook_secrets_rotated} webhook signing secrets")
    if report.unreadable_webhooks:
        lines.append(
            f"{len(report.unreadable_webhooks)} webhook secrets could not be decrypted and were "
            "left untouched: " + ", ".join(str(i) for i in report.unreadable_webhooks[:20])
        )
    if report.totp_rotated:
        lines.append(f"re-encrypted {report.totp_rotated} two-factor secrets")
    if report.totp_unreadable:
        lines.append(
            f"{len(report.totp_unreadable)} two-factor secrets could not be decrypted and were "
            "left untouched (an admin can reset those users' two-factor log-in)"
        )
    if report.unused_key_ids:
        lines.append(
            "nothing uses these keys any more; you may remove them from ENCRYPTION_KEYS: "
            + ", ".join(report.unused_key_ids)
        )
    return "\n".join(lines)


async def run_rotation(
    settings: Settings, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> RotationReport:
    """The CLI entry: build the database and vault from the settings, rotate, clean up."""
    database = Database(create_engine(settings.database_url))
    try:
        return await rotate_keys(database, Vault(settings.vault_keys), batch_size=batch_size)
    finally:
        await database.dispose()
