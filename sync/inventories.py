"""The default way a job gets its credential's inventory: the providers' registry."""

from __future__ import annotations

import asyncio

from db.models import CloudCredentialRow
from providers.base import CloudInventory, ProviderError
from providers.endpoints import CloudEndpoints
from security.vault import Vault, VaultError
from sync.engine import InventoryFactory

UNREADABLE_CODE = "CREDENTIAL_UNREADABLE"
UNREADABLE_MESSAGE = (
    "The stored secret could not be decrypted (its vault key is missing); enter it again."
)


def registry_factory(vault: Vault, endpoints: CloudEndpoints) -> InventoryFactory:
    async def build(row: CloudCredentialRow) -> CloudInventory:
        # Imported on first use: the cloud SDKs are heavy and only job runners need them.
        from providers.registry import inventory_for

        try:
            # Building SDK clients blocks (file reads, endpoint resolution): off the event loop.
            inventory = await asyncio.to_thread(inventory_for, row, vault, endpoints)
        except VaultError as error:
            raise ProviderError(UNREADABLE_CODE, UNREADABLE_MESSAGE) from error
        return inventory

    return build
