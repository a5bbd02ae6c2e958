"""The default way a job gets its credential's inventory: the providers' registry."""

from __future__ import annotations

import importlib
from typing import Any

from db.models import CloudCredential
from providers.base import CloudInventory
from providers.sync.engine import InventoryFactory
from security.vault import Vault
from stratograph.settings import Settings


def registry_factory(vault: Vault, settings: Settings) -> InventoryFactory:
    def build(row: CloudCredential) -> CloudInventory:
        # Imported on first use: the cloud SDKs are heavy and only workers need them.
        registry: Any = importlib.import_module("providers.registry")
        inventory: CloudInventory = registry.inventory_for(row, vault, settings)
        return inventory

    return build
