"""`stratograph worker` whose credentials all list the stand-in organization of
`bench/_org_cloud.py` (at `ORG_CLOUD_URL`). Everything else is the real worker command."""

from __future__ import annotations

import os
import sys

import sync.worker
from bench._org_cloud import HttpOrganization
from db.models import CloudCredentialRow
from providers.endpoints import CloudEndpoints
from security.vault import Vault
from stratograph.cli import main
from sync.engine import InventoryFactory


def stand_in_factory(_vault: Vault, _endpoints: CloudEndpoints) -> InventoryFactory:
    url = os.environ["ORG_CLOUD_URL"]

    def build(_row: CloudCredentialRow) -> HttpOrganization:
        return HttpOrganization(url)

    return build


if __name__ == "__main__":
    sync.worker.registry_factory = stand_in_factory  # type: ignore[attr-defined,assignment]
    raise SystemExit(main(["worker", *sys.argv[1:]]))
