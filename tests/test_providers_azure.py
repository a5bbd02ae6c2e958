"""Azure inventory against the HTTPS stand-in through azure-identity and azure-mgmt-resource."""

from __future__ import annotations

import time

import pytest

from db.enums import ResourceStatus, ResourceType
from providers.azure import RESOURCE_GROUPS_SCOPE, RESOURCES_SCOPE, AzureInventory
from providers.azure_records import RESOURCE_GROUP
from providers.base import (
    ERROR_AUTH,
    ERROR_THROTTLED,
    ERROR_UNAVAILABLE,
    ProviderError,
    RetryPolicy,
    Scope,
)
from providers.sanitize import Normalized, Rejected, normalize_record
from providers.secrets import AzureSecret
from tests.standins.azure import CLIENT_SECRET, SUBSCRIPTION, AzureStandin

FAST = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05)


def inventory(
    standin: AzureStandin, secret: AzureSecret | None = None, retry: RetryPolicy = FAST
) -> AzureInventory:
    return AzureInventory(
        secret or standin.secret(),
        authority_host=standin.url,
        resource_manager_url=standin.url,
        ca_bundle=standin.ca_bundle,
        retry=retry,
    )


async def test_plan_is_resource_groups_and_the_generic_resource_list(
    azure_standin: AzureStandin,
) -> None:
    scopes = await inventory(azure_standin).plan()
    assert scopes == [RESOURCE_GROUPS_SCOPE, RESOURCES_SCOPE]
    # stale marking of the generic list never touches resource groups
    assert RESOURCES_SCOPE.owns("eastus", "Microsoft.Compute/virtualMachines")
    assert not RESOURCES_SCOPE.owns("eastus", RESOURCE_GROUP)
    assert RESOURCE_GROUPS_SCOPE.owns("westeurope", RESOURCE_GROUP)


async def test_a_scope_rebuilt_from_region_and_kind_still_lists(
    azure_standin: AzureStandin,
) -> None:
    rebuilt = Scope(RESOURCES_SCOPE.region, RESOURCES_SCOPE.kind)
    assert len(await inventory(azure_standin).list_scope(rebuilt)) == 8


async def test_lists_groups_and_every_resource_type_across_pages(
    azure_standin: AzureStandin,
) -> None:
    # given the stand-in serves pages of two with absolute nextLinks
    inv = inventory(azure_standin)
    # when
    groups = await inv.list_scope(RESOURCE_GROUPS_SCOPE)
    resources = await inv.list_scope(RESOURCES_SCOPE)
    # then every page was followed
    assert sorted(g.name for g in groups) == ["rg-data", "rg-web"]
    assert len(resources) == len(azure_standin.resources) == 8
    assert azure_standin.hits(f"/subscriptions/{SUBSCRIPTION}/resources") == 4
    by_name = {r.name: r for r in resources}
    assert {name: r.type for name, r in by_name.items()} == {
        "vm-web-1": ResourceType.VM,
        "vm-odd": ResourceType.VM,
        "vm-parked": ResourceType.VM,
        "vnet-web": ResourceType.NETWORK,
        "ip-web": ResourceType.NETWORK,
        "stdata": ResourceType.STORAGE,
        "sql-data": ResourceType.DATABASE,
        "fn-data": ResourceType.FUNCTION,
    }
    vm = by_name["vm-web-1"]
    assert (vm.account, vm.region, vm.status) == (SUBSCRIPTION, "eastus", ResourceStatus.RUNNING)
    assert vm.tags == {"env": "prod"}
    assert vm.metadata["resourceGroup"] == "rg-web"
    assert vm.metadata["vmSize"] == "Standard_B2s"
    assert vm.cost_per_hour == pytest.approx(0.0416)
    assert by_name["vm-odd"].cost_per_hour is None
    parked = by_name["vm-parked"]
    assert (parked.status, parked.cost_per_hour) == (ResourceStatus.STOPPED, 0.0)
    assert by_name["sql-data"].status == ResourceStatus.ACTIVE
    assert by_name["stdata"].metadata["sku"] == "Standard_LRS"


async def test_throttling_honours_retry_after(azure_standin: AzureStandin) -> None:
    # given ARM answers 429 with Retry-After: 1 once
    injected = azure_standin.fail("/resources", 429, times=1, retry_after=1)
    started = time.monotonic()
    # when
    resources = await inventory(azure_standin).list_scope(RESOURCES_SCOPE)
    # then the SDK waited as told and finished the listing
    assert injected.answered == 1
    assert time.monotonic() - started >= 0.9
    assert len(resources) == 8


async def test_persistent_throttling_becomes_a_throttled_error(
    azure_standin: AzureStandin,
) -> None:
    azure_standin.fail("/resources", 429, times=-1, retry_after=0)
    with pytest.raises(ProviderError) as failure:
        await inventory(azure_standin).list_scope(RESOURCES_SCOPE)
    assert failure.value.code == ERROR_THROTTLED
    assert failure.value.retryable


async def test_a_failing_scope_raises_a_safe_error(azure_standin: AzureStandin) -> None:
    # given the resource list keeps failing while resource groups work
    azure_standin.fail("/resources", 500, times=-1)
    inv = inventory(azure_standin)
    # when / then
    with pytest.raises(ProviderError) as failure:
        await inv.list_scope(RESOURCES_SCOPE)
    assert failure.value.code == ERROR_UNAVAILABLE
    assert "injected" not in failure.value.message
    assert CLIENT_SECRET not in failure.value.message
    assert len(await inv.list_scope(RESOURCE_GROUPS_SCOPE)) == 2


async def test_verify_accepts_the_right_secret_and_rejects_a_wrong_one(
    azure_standin: AzureStandin,
) -> None:
    await inventory(azure_standin).verify()
    wrong = "definitely-not-the-secret-123"
    with pytest.raises(ProviderError) as failure:
        await inventory(azure_standin, azure_standin.secret(wrong)).verify()
    assert failure.value.code == ERROR_AUTH
    assert wrong not in failure.value.message
    assert "AADSTS" not in failure.value.message


async def test_an_unknown_subscription_fails_verification(azure_standin: AzureStandin) -> None:
    good = azure_standin.secret()
    other = AzureSecret(
        tenant_id=good.tenant_id,
        client_id=good.client_id,
        subscription_id="ffffffff-0000-0000-0000-000000000000",
        client_secret=good.client_secret,
    )
    with pytest.raises(ProviderError) as failure:
        await inventory(azure_standin, other).verify()
    assert "not found" in failure.value.message


async def test_an_unreadable_item_costs_only_itself(azure_standin: AzureStandin) -> None:
    # given ARM returns an item without an id and one whose sku is not an object
    azure_standin.resources.append({"name": "broken", "type": "Microsoft.Foo/bars"})
    azure_standin.add_resource("rg-web", "Microsoft.Foo/bars", "odd", "eastus", sku="x")
    inv = inventory(azure_standin)
    # when the resources are listed
    records = await inv.list_scope(RESOURCES_SCOPE)
    await inv.close()
    # then every item is handed over: the ordinary ones read, the broken ones for the engine to
    # report as skipped (normalization rejects them; nothing of them is stored)
    assert len(records) == 10
    rejected = [normalize_record(r) for r in records[-2:]]
    assert all(isinstance(r, Rejected) for r in rejected)
    assert {r.resource_id for r in rejected if isinstance(r, Rejected)} == {
        None,
        records[-1].resource_id,
    }
    assert all(isinstance(normalize_record(r), Normalized) for r in records[:-2])


async def test_kinds_map_to_categories_with_storage_detail_and_group_membership(
    azure_standin: AzureStandin,
) -> None:
    # given kinds of the newer categories beside the populated ones
    for native_type, name in (
        ("Microsoft.KeyVault/vaults", "kv-web"),
        ("Microsoft.ContainerService/managedClusters", "aks-web"),
        ("Microsoft.Network/dnsZones", "example.org"),
        ("Microsoft.ServiceBus/namespaces", "sb-web"),
        ("Microsoft.ManagedIdentity/userAssignedIdentities", "id-web"),
    ):
        azure_standin.add_resource("rg-web", native_type, name, "eastus")
    inv = inventory(azure_standin)
    # when
    groups = {r.name: r for r in await inv.list_scope(RESOURCE_GROUPS_SCOPE)}
    records = {r.name: r for r in await inv.list_scope(RESOURCES_SCOPE)}
    # then each kind is in its category
    categories = {name: records[name].type for name in
                  ("kv-web", "aks-web", "example.org", "sb-web", "id-web")}  # fmt: skip
    assert categories == {
        "kv-web": ResourceType.SECURITY,
        "aks-web": ResourceType.CONTAINER,
        "example.org": ResourceType.DNS,
        "sb-web": ResourceType.QUEUE,
        "id-web": ResourceType.IDENTITY,
    }
    # the storage account carries its public-access settings, read from its own resource
    assert records["stdata"].configuration == {
        "allowBlobPublicAccess": True,
        "minimumTlsVersion": "TLS1_0",
        "httpsOnly": True,
        "publicNetworkAccess": "Enabled",
        "networkDefaultAction": "Allow",
        "allowSharedKeyAccess": None,
        "encryptionKeySource": "Microsoft.Storage",
    }
    # and every resource is MEMBER_OF its resource group, by the id the groups listing gives
    for record in records.values():
        (relation,) = record.relations
        assert relation.type.value == "MEMBER_OF"
        assert relation.target in {group.resource_id for group in groups.values()}
    assert records["stdata"].relations[0].target == groups["rg-data"].resource_id
