"""WebhookRow signing secrets under vault key rotation: counted in key usage and re-sealed under
the primary key by `stratograph rotate-keys`, in batches, compare-and-swap like credentials."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from db.engine import Database
from db.models import WebhookRow
from integrations.webhooks.signing import VAULT_PURPOSE
from security.vault import Sealed, Vault, VaultError

BATCH_SIZE = 500


async def webhook_key_usage(database: Database) -> dict[str, int]:
    async with database.system_session() as session:
        rows = await session.execute(
            select(WebhookRow.key_id, func.count()).group_by(WebhookRow.key_id)
        )
        return {str(key_id): int(count) for key_id, count in rows}


async def reseal_webhook_secrets(database: Database, vault: Vault) -> tuple[int, list[uuid.UUID]]:
    """(secrets re-sealed, ids that could not be opened and were left as they are)."""
    rotated, unreadable = 0, []
    after: uuid.UUID | None = None
    while True:
        statement = select(
            WebhookRow.id, WebhookRow.user_id, WebhookRow.key_id, WebhookRow.secret_ciphertext
        ).where(WebhookRow.key_id != vault.primary_key_id)
        if after is not None:
            statement = statement.where(WebhookRow.id > after)
        async with database.system_session() as session:
            rows = (
                await session.execute(statement.order_by(WebhookRow.id).limit(BATCH_SIZE))
            ).all()
            for row_id, owner_id, key_id, blob in rows:
                try:
                    secret = vault.open(Sealed(key_id, blob), owner_id, row_id, VAULT_PURPOSE)
                    sealed = vault.seal(secret, owner_id, row_id, VAULT_PURPOSE)
                except VaultError:
                    unreadable.append(row_id)
                    continue
                result = await session.execute(
                    update(WebhookRow)
                    .where(
                        WebhookRow.id == row_id,
                        WebhookRow.key_id == key_id,
                        WebhookRow.secret_ciphertext == blob,
                    )
                    .values(
                        key_id=sealed.key_id,
                        secret_ciphertext=sealed.blob,
                        updated_at=WebhookRow.updated_at,
                    )
                    .execution_options(synchronize_session=False)
                )
                rotated += getattr(result, "rowcount", 0)
        if not rows:
            return rotated, unreadable
        after = rows[-1][0]
