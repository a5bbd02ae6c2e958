"""Azure inventory: resource groups plus the generic resource list (every type) of a subscription.

azure-identity gets the token (`providers.azure_identity`: a client secret or the federated token
file) and azure-mgmt-resource's `ResourceManagementClient` reads ARM, one client per subscription
(`providers.azure_subscriptions` covers every subscription a principal sees). Both are blocking,
so calls run in worker threads. The ARM pipeline retries 429/5xx itself and honours
`Retry-After`. Sovereign, Stack or stand-in clouds are reached through `AZURE_AUTHORITY_HOST` /
`AZURE_RESOURCE_MANAGER_URL` (+ `PROVIDER_CA_BUNDLE`).
"""

from __future__ import annotations

import logging
import threading
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
from azure.identity import CredentialUnavailableError
from azure.mgmt.resource.resources import ResourceManagementClient

from db.enums import Provider
from providers.azure_identity import SECRET_REFUSED, sign_in
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
from providers.secrets import AzureFederatedSecret, AzureSecret
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
    """One subscription, the one the credential names: scope keys carry no account."""

    provider = Provider.AZURE

    def __init__(
        self,
        secret: AzureSecret | AzureFederatedSecret,
        *,
        authority_host: str | None = None,
        resource_manager_url: str | None = None,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        federated_token_file: str | None = None,
    ) -> None:
        policy = retry or RetryPolicy()
        transport: dict[str, Any] = {"connection_verify": ca_bundle} if ca_bundle else {}
        retries: dict[str, Any] = {
            "retry_total": max(policy.max_attempts - 1, 0),
            "retry_backoff_factor": policy.initial_backoff,
            "retry_backoff_max": policy.max_backoff,
        }
        self._options = {**transport, **retries}
        self.subscription_id = secret.subscription_id or ""
        self._sign_in = sign_in(
            secret,
            authority_host=authority_host,
            federated_token_file=federated_token_file,
            options=self._options,
        )
        self._credential = self._sign_in.credential
        self._arm = (resource_manager_url or PUBLIC_RESOURCE_MANAGER).rstrip("/")
        self._scope = f"{self._arm}/.default"
        self._clients: dict[str, ResourceManagementClient] = {}
        self._clients_lock = threading.Lock()

    def _client_for(self, subscription_id: str) -> ResourceManagementClient:
        """One ARM client per subscription, built on first use (scopes list concurrently)."""
        with self._clients_lock:
            client = self._clients.get(subscription_id)
            if client is None:
                client = ResourceManagementClient(
                    self._credential,
                    subscription_id,
                    base_url=self._arm,
                    credential_scopes=[self._scope],
                    **self._options,
                )
                self._clients[subscription_id] = client
            return client

    @property
    def _client(self) -> ResourceManagementClient:
        return self._client_for(self.subscription_id)

    async def _run(self, work: Callable[[], T], what: str) -> T:
        return await _in_thread(work, what, self._sign_in.refused)

    async def verify(self) -> None:
        def check() -> None:
            self._credential.get_token(self._scope)
            # Reading the first page of resource groups proves the subscription exists and
            # that the principal may read it.
            next(iter(self._client.resource_groups.list(top=1)), None)

        await self._run(check, "read the subscription")

    async def plan(self) -> list[Scope]:
        return [RESOURCE_GROUPS_SCOPE, RESOURCES_SCOPE]

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        subscription = scope.account or self.subscription_id
        if not subscription:
            raise ProviderError(ERROR_PROVIDER, f"Azure scope {scope.key!r} names no subscription")
        client = self._client_for(subscription)
        # By kind: a scope rebuilt from a stored (region, kind) pair must still be listable.
        if scope.kind == RESOURCE_GROUPS_SCOPE.kind:
            work = partial(_resource_groups, client, subscription)
            return await self._run(work, _in_subscription("list resource groups", scope))
        if scope.kind == RESOURCES_SCOPE.kind:
            work = partial(_resources, client, subscription)
            return await self._run(work, _in_subscription("list resources", scope))
        raise ProviderError(ERROR_PROVIDER, f"Unknown Azure scope {scope.key!r}")

    async def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self._sign_in.close()


def _in_subscription(what: str, scope: Scope) -> str:
    # A subscription id is no secret, and it tells the owner which of several failed.
    return f"{what} of subscription {scope.account}" if scope.account else what


def _resource_groups(client: ResourceManagementClient, subscription: str) -> list[ResourceRecord]:
    records = []
    for item in client.resource_groups.list():
        wire = wire_json(item)
        records.append(guarded(partial(resource_group_record, wire, subscription), wire))
    return records


def _resources(client: ResourceManagementClient, subscription: str) -> list[ResourceRecord]:
    records = []
    for item in client.resources.list(expand=EXPAND):  # follows nextLink
        wire = wire_json(item)
        vm = detail = None
        native_type = str(wire.get("type", "")).lower()
        if native_type == VIRTUAL_MACHINE and wire.get("id"):
            vm = _vm(client, str(wire["id"]))
        elif native_type == STORAGE_ACCOUNT and wire.get("id"):
            detail = _read(client, str(wire["id"]), STORAGE_API_VERSION)
        build = partial(resource_record, wire, subscription, vm, detail)
        records.append(guarded(build, wire))
    return records


def _read(
    client: ResourceManagementClient, resource_id: str, api_version: str
) -> dict[str, Any] | None:
    """One resource's own read (the generic list carries no properties)."""
    try:
        return wire_json(client.resources.get_by_id(resource_id, api_version=api_version))
    except ResourceNotFoundError:
        return None  # deleted since it was listed: its configuration stays unknown


def _vm(client: ResourceManagementClient, resource_id: str) -> dict[str, Any] | None:
    """The generic list carries no properties: one read per VM gives its size (the price)
    and, with the instance view, its power state (deallocated VMs cost no compute)."""
    try:
        full = client.resources.get_by_id(
            resource_id, api_version=COMPUTE_API_VERSION, params={"$expand": "instanceView"}
        )
    except ResourceNotFoundError:
        return None  # deleted since it was listed; its record keeps an unknown price
    return wire_json(full)


def wire_json(model: Any) -> dict[str, Any]:
    """The REST (camelCase) JSON of an SDK model; these models are mappings of it."""
    return {str(k): v for k, v in dict(model).items()}


async def _in_thread(work: Callable[[], T], what: str, refused: str = SECRET_REFUSED) -> T:
    try:
        return await run_blocking(work)
    except ProviderError:
        raise
    except (ClientAuthenticationError, CredentialUnavailableError):
        raise ProviderError(ERROR_AUTH, refused) from None
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
