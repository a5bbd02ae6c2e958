"""Where the cloud SDKs connect: the providers' slice of the settings, as a small option object.

Providers take this instead of the whole `Settings`, so what a provider may read is written here
once, and tests build one without a settings file.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings


@dataclass(frozen=True, slots=True)
class CloudEndpoints:
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    # Empty: every region enabled for the account.
    aws_sync_regions: tuple[str, ...] = ()
    azure_authority_host: str | None = None
    azure_resource_manager_url: str | None = None
    gcp_api_endpoint: str | None = None
    azure_federated_token_file: str | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CloudEndpoints:
        return cls(
            aws_region=settings.aws_region,
            aws_endpoint_url=settings.aws_endpoint_url,
            aws_sync_regions=tuple(settings.aws_sync_regions),
            azure_authority_host=settings.azure_authority_host,
            azure_resource_manager_url=settings.azure_resource_manager_url,
            gcp_api_endpoint=settings.gcp_api_endpoint,
            azure_federated_token_file=settings.azure_federated_token_file,
            ca_bundle=settings.provider_ca_bundle,
        )
