"""Build the `CloudInventory` for one stored credential.

The secret is opened here, at the moment a provider call needs it, and handed straight to the
SDK client; it is never logged, returned or stored elsewhere. Cloud SDKs are imported lazily so a
process that never talks to a cloud does not pay for loading all three. Building an inventory
blocks (imports, SDK model files): async callers run it in a thread,
`await asyncio.to_thread(inventory_for, row, vault, endpoints)`.
"""

from __future__ import annotations

import importlib
import logging

from db.enums import Provider
from db.models import CloudCredentialRow
from providers.base import CloudInventory, RetryPolicy
from providers.endpoints import CloudEndpoints
from providers.secrets import (
    AwsRoleSecret,
    AwsSecret,
    AzureFederatedSecret,
    AzureSecret,
    GcpImpersonationSecret,
    GcpSecret,
)
from providers.vault_access import open_secret
from security.vault import Vault

# At DEBUG these SDKs log request headers, which carry session tokens and signatures.
SDK_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "azure", "msal", "google", "requests")


def quiet_sdk_loggers() -> None:
    """Keep the cloud SDKs at INFO or quieter, whatever LOG_LEVEL is."""
    floor = max(logging.INFO, logging.getLogger().getEffectiveLevel())
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < floor:
            logger.setLevel(floor)


# The modules `inventory_for` imports, with their clouds' SDKs.
_INVENTORY_MODULES = (
    "providers.aws",
    "providers.aws_organizations",
    "providers.azure",
    "providers.azure_subscriptions",
    "providers.gcp_folders",
)


def preload() -> None:
    """Import every cloud's inventory and SDK now, for a process that will sync (the worker):
    it pays once at startup rather than in its first job, and its settled heap (`core.heap`)
    holds them."""
    for name in _INVENTORY_MODULES:
        importlib.import_module(name)


def inventory_for(
    row: CloudCredentialRow,
    vault: Vault,
    endpoints: CloudEndpoints,
    *,
    retry: RetryPolicy | None = None,
    page_size: int | None = None,
) -> CloudInventory:
    """The inventory of `row`'s cloud, reached at `endpoints`.

    `retry` and `page_size` exist for tests and tuning; the defaults suit real clouds.
    """
    quiet_sdk_loggers()
    secret = open_secret(row, vault)
    ca_bundle = endpoints.ca_bundle
    if row.provider == Provider.AWS and isinstance(secret, AwsSecret):
        from providers.aws import AwsInventory

        return AwsInventory(
            secret,
            default_region=row.default_region or endpoints.aws_region,
            endpoint_url=endpoints.aws_endpoint_url,
            ca_bundle=ca_bundle,
            regions=list(endpoints.aws_sync_regions),
            retry=retry,
            page_size=page_size,
        )
    if row.provider == Provider.AWS and isinstance(secret, AwsRoleSecret):
        from providers.aws_organizations import role_inventory

        return role_inventory(
            secret,
            row.external_id,
            default_region=row.default_region or endpoints.aws_region,
            endpoint_url=endpoints.aws_endpoint_url,
            ca_bundle=ca_bundle,
            regions=list(endpoints.aws_sync_regions),
            retry=retry,
            page_size=page_size,
        )
    if row.provider == Provider.AZURE and isinstance(secret, AzureSecret | AzureFederatedSecret):
        from providers.azure import AzureInventory
        from providers.azure_subscriptions import AzureSubscriptionsInventory

        # A named subscription keeps the single-account scopes (and their stored keys).
        azure = AzureInventory if secret.subscription_id else AzureSubscriptionsInventory
        return azure(
            secret,
            authority_host=endpoints.azure_authority_host,
            resource_manager_url=endpoints.azure_resource_manager_url,
            ca_bundle=ca_bundle,
            retry=retry,
            federated_token_file=endpoints.azure_federated_token_file,
        )
    if row.provider == Provider.GCP and isinstance(secret, GcpSecret | GcpImpersonationSecret):
        from providers.gcp_folders import gcp_inventory

        return gcp_inventory(
            secret,
            api_endpoint=endpoints.gcp_api_endpoint,
            ca_bundle=ca_bundle,
            retry=retry,
            page_size=page_size,
        )
    raise ValueError(f"credential {row.id} holds no {row.provider} secret")
