"""Azure inventory: resource groups plus the generic resource list (every type) of a subscription.

azure-identity's `ClientSecretCredential` gets the token and azure-mgmt-resource's
`ResourceManagementClient` reads ARM; both are blocking, so calls run in worker threads. The
ARM pipeline retries 429/5xx itself and honours `Retry-After`. Sovereign, Stack or stand-in clouds
are reached through `AZURE_AUTHORITY_HOST` / `AZURE_RESOURCE_MANAGER_URL` (+ `PROVIDER_CA_BUNDLE`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential, CredentialUnavailableError
from azure.mgmt.resource.resources import ResourceManagementClient

from db.enums import Provider
from providers.azure_records import (
    RESOURCE_GROUP,
    STORAGE_ACCOUNT,
    VIRTUAL_MACHINE,
    guarded,
    resource_group_record,
    resource_record,
)
from providers.base import (
    ERROR_AUTH,
    ERROR_BAD_RESPONSE,
    ERROR_PERMISSION,
    ERROR_PROVIDER,
    ERROR_THROTTLED,
    ERROR_UNAVAILABLE,
    GLOBAL_REGION,
    ProviderError,
    ResourceRecord,
    RetryPolicy,
    Scope,
)
from providers.secrets import AzureSecret
from providers.threads import run_blocking

T = TypeVar("T")
logger = logging.getLogger("stratograph.providers")

GENERIC_KIND = "resources"
PUBLIC_RESOURCE_MANAGER = "https://management.azure.com"
COMPUTE_API_VERSION = "2024-07-01"  # only to read a VM's size and power state
STORAGE_API_VERSION = "2023-05-01"  # only to read a storage account's access settings
EXPAND = "createdTime,changedTime,provisioningState"
RESOURCE_GROUPS_SCOPE = Scope(GLOBAL_REGION, RESOURCE_GROUP, any_region=True)
RESOURCES_SCOPE = Scope(
    GLOBAL_REGION, GENERIC_KIND, any_region=True, all_types_except=frozenset({RESOURCE_GROUP})
)


class AzureInventory:
    provider = Provider.AZURE

    def __init__(
        self,
        secret: AzureSecret,
        *,
        authority_host: str | None = None,
        resource_manager_url: str | None = None,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        policy = retry or RetryPolicy()
        transport: dict[str, Any] = {"connection_verify": ca_bundle} if ca_bundle else {}
        retries: dict[str, Any] = {
            "retry_total": max(policy.max_attempts - 1, 0),
            "retry_backoff_factor": policy.initial_backoff,
            "retry_backoff_max": policy.max_backoff,
        }
        identity: dict[str, Any] = {}
        if authority_host:
            # A private authority (Stack, stand-in) has no public instance metadata to discover.
            identity = {"authority": authority_host, "disable_instance_discovery": True}
        self.subscription_id = secret.subscription_id
        self._credential = ClientSecretCredential(
            secret.tenant_id,
            secret.client_id,
            secret.client_secret,
            **identity,
            **transport,
            **retries,
        )
        arm = (resource_manager_url or PUBLIC_RESOURCE_MANAGER).rstrip("/")
        self._scope = f"{arm}/.default"
        self._client = ResourceManagementClient(
            self._credential,
            secret.subscription_id,
            base_url=arm,
            credential_scopes=[self._scope],
            **transport,
            **retries,
        )

    async def verify(self) -> None:
        def check() -> None:
            self._credential.get_token(self._scope)
            # Reading the first page of resource groups proves the subscription exists and
            # that the principal may read it.
            next(iter(self._client.resource_groups.list(top=1)), None)

        await _in_thread(check, "read the subscription")

    async def plan(self) -> list[Scope]:
        return [RESOURCE_GROUPS_SCOPE, RESOURCES_SCOPE]

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        # By kind: a scope rebuilt from a stored (region, kind) pair must still be listable.
        if scope.kind == RESOURCE_GROUPS_SCOPE.kind:
            return await _in_thread(self._resource_groups, "list resource groups")
        if scope.kind == RESOURCES_SCOPE.kind:
            return await _in_thread(self._resources, "list resources")
        raise ProviderError(ERROR_PROVIDER, f"Unknown Azure scope {scope.key!r}")

    def _resource_groups(self) -> list[ResourceRecord]:
        records = []
        for item in self._client.resource_groups.list():
            wire = _wire(item)
            build = partial(resource_group_record, wire, self.subscription_id)
            records.append(guarded(build, wire))
        return records

    def _resources(self) -> list[ResourceRecord]:
        records = []
        for item in self._client.resources.list(expand=EXPAND):  # follows nextLink
            wire = _wire(item)
            vm = detail = None
            native_type = str(wire.get("type", "")).lower()
            if native_type == VIRTUAL_MACHINE and wire.get("id"):
                vm = self._vm(str(wire["id"]))
            elif native_type == STORAGE_ACCOUNT and wire.get("id"):
                detail = self._read(str(wire["id"]), STORAGE_API_VERSION)
            build = partial(resource_record, wire, self.subscription_id, vm, detail)
            records.append(guarded(build, wire))
        return records

    def _read(self, resource_id: str, api_version: str) -> dict[str, Any] | None:
        """One resource's own read (the generic list carries no properties)."""
        try:
            return _wire(self._client.resources.get_by_id(resource_id, api_version=api_version))
        except ResourceNotFoundError:
            return None  # deleted since it was listed: its configuration stays unknown

    def _vm(self, resource_id: str) -> dict[str, Any] | None:
        """The generic list carries no properties: one read per VM gives its size (the price)
        and, with the instance view, its power state (deallocated VMs cost no compute)."""
        try:
            full = self._client.resources.get_by_id(
                resource_id, api_version=COMPUTE_API_VERSION, params={"$expand": "instanceView"}
            )
        except ResourceNotFoundError:
            return None  # deleted since it was listed; its record keeps an unknown price
        return _wire(full)

    async def close(self) -> None:
        self._client.close()
        self._credential.close()


def _wire(model: Any) -> dict[str, Any]:
    """The REST (camelCase) JSON of an SDK model; these models are mappings of it."""
    return {str(k): v for k, v in dict(model).items()}


async def _in_thread(work: Callable[[], T], what: str) -> T:
    try:
        return await run_blocking(work)
    except ProviderError:
        raise
    except (ClientAuthenticationError, CredentialUnavailableError):
        raise ProviderError(
            ERROR_AUTH, "Azure AD rejected the credential (tenant, client id or secret)."
        ) from None
    except HttpResponseError as exc:
        raise translate_http_error(exc, what) from None
    except (ServiceRequestError, ServiceResponseError):
        raise ProviderError(
            ERROR_UNAVAILABLE, f"Could not reach Azure to {what}.", retryable=True
        ) from None
    except AzureError as exc:
        raise ProviderError(
            ERROR_PROVIDER, f"Azure call failed to {what} ({type(exc).__name__})."
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("unexpected Azure answer while trying to %s: %s", what, type(exc).__name__)
        raise ProviderError(
            ERROR_BAD_RESPONSE, f"Could not read Azure's answer to {what}."
        ) from None


def translate_http_error(exc: HttpResponseError, what: str) -> ProviderError:
    """Our own words: the status and ARM error code are safe, ARM's message is not copied."""
    status = int(exc.status_code or 0)
    code = str(getattr(exc.error, "code", None) or f"HTTP {status}")[:64]
    if status == 401:
        return ProviderError(ERROR_AUTH, f"Azure rejected the credential ({code}).")
    if status == 403:
        return ProviderError(
            ERROR_PERMISSION,
            f"The credential is not allowed to {what} ({code}); it needs the Reader role.",
        )
    if status == 404:
        return ProviderError(ERROR_PROVIDER, f"Azure could not {what}: not found ({code}).")
    if status == 429:
        return ProviderError(
            ERROR_THROTTLED, f"Azure kept throttling the request to {what}.", retryable=True
        )
    if status >= 500:
        return ProviderError(
            ERROR_UNAVAILABLE, f"Azure failed to {what} (HTTP {status}).", retryable=True
        )
    return ProviderError(ERROR_PROVIDER, f"Azure refused to {what} ({code}).")
