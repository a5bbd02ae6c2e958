"""Azure Resource Manager shapes (wire JSON of the generic resource list) → `ResourceRecord`s."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from db.enums import Provider, RelationType, ResourceStatus, ResourceType
from providers.base import GLOBAL_REGION, Relation, ResourceRecord
from providers.normalize import (
    SHAPE_ERRORS,
    Price,
    clean_tags,
    configuration,
    map_status,
    metadata,
    price,
    priced,
    text,
    unreadable,
)

RESOURCE_GROUP = "Microsoft.Resources/resourceGroups"
VIRTUAL_MACHINE = "microsoft.compute/virtualmachines"
STORAGE_ACCOUNT = "microsoft.storage/storageaccounts"

S = ResourceStatus
PROVISIONING_STATES = {
    "succeeded": S.ACTIVE,
    "creating": S.PENDING,
    "updating": S.PENDING,
    "accepted": S.PENDING,
    "provisioning": S.PENDING,
    "migrating": S.PENDING,
    "deleting": S.TERMINATED,
}
# Lower-cased ARM type (or its provider namespace + "/") → resource type. Exact types win.
TYPE_BY_NATIVE_TYPE = {
    "microsoft.compute/virtualmachines": ResourceType.VM,
    "microsoft.compute/virtualmachinescalesets": ResourceType.VM,
    "microsoft.classiccompute/virtualmachines": ResourceType.VM,
    "microsoft.storage/storageaccounts": ResourceType.STORAGE,
    "microsoft.compute/disks": ResourceType.STORAGE,
    "microsoft.compute/snapshots": ResourceType.STORAGE,
    "microsoft.network/dnszones": ResourceType.DNS,
    "microsoft.network/privatednszones": ResourceType.DNS,
    "microsoft.network/firewallpolicies": ResourceType.SECURITY,
    "microsoft.network/applicationgatewaywebapplicationfirewallpolicies": ResourceType.SECURITY,
}
TYPE_BY_NAMESPACE = {
    "microsoft.network/": ResourceType.NETWORK,
    "microsoft.classicnetwork/": ResourceType.NETWORK,
    "microsoft.sql/": ResourceType.DATABASE,
    "microsoft.dbforpostgresql/": ResourceType.DATABASE,
    "microsoft.dbformysql/": ResourceType.DATABASE,
    "microsoft.dbformariadb/": ResourceType.DATABASE,
    "microsoft.documentdb/": ResourceType.DATABASE,
    "microsoft.cache/": ResourceType.DATABASE,
    "microsoft.netapp/": ResourceType.STORAGE,
    "microsoft.managedidentity/": ResourceType.IDENTITY,
    "microsoft.authorization/": ResourceType.IDENTITY,
    "microsoft.containerservice/": ResourceType.CONTAINER,
    "microsoft.containerregistry/": ResourceType.CONTAINER,
    "microsoft.containerinstance/": ResourceType.CONTAINER,
    "microsoft.app/": ResourceType.CONTAINER,
    "microsoft.keyvault/": ResourceType.SECURITY,
    "microsoft.security/": ResourceType.SECURITY,
    "microsoft.servicebus/": ResourceType.QUEUE,
    "microsoft.eventhub/": ResourceType.QUEUE,
    "microsoft.eventgrid/": ResourceType.QUEUE,
    "microsoft.relay/": ResourceType.QUEUE,
}


def resource_type_of(native_type: str, kind: str | None = None) -> ResourceType:
    lowered = native_type.lower()
    if lowered == "microsoft.web/sites" and kind and "functionapp" in kind.lower():
        return ResourceType.FUNCTION
    if lowered in TYPE_BY_NATIVE_TYPE:
        return TYPE_BY_NATIVE_TYPE[lowered]
    for prefix, resource_type in TYPE_BY_NAMESPACE.items():
        if lowered.startswith(prefix):
            return resource_type
    return ResourceType.OTHER


def resource_group_of(resource_id: str) -> str | None:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    if "resourcegroups" in lowered:
        index = lowered.index("resourcegroups")
        return parts[index + 1] if index + 1 < len(parts) else None
    return None


POWER_STATES = {
    "running": S.RUNNING,
    "starting": S.PENDING,
    "stopping": S.PENDING,
    "deallocating": S.PENDING,
    "stopped": S.STOPPED,
    "deallocated": S.STOPPED,
}


def vm_size_of(item: Mapping[str, Any]) -> str | None:
    properties = item.get("properties") or {}
    size = (properties.get("hardwareProfile") or {}).get("vmSize")
    return str(size) if size else None


def power_state_of(item: Mapping[str, Any]) -> str | None:
    """`running`, `deallocated`, … from a VM read with `$expand=instanceView`."""
    view = (item.get("properties") or {}).get("instanceView") or {}
    for status in view.get("statuses") or []:
        code = str(status.get("code") or "")
        if code.startswith("PowerState/"):
            return code.removeprefix("PowerState/")
    return None


def vm_price(size: str | None, power_state: str | None, region: str) -> Price | None:
    """Compute is billed unless the VM is deallocated ("stopped" alone still bills)."""
    listed = price("azure_vm", size, region)
    if listed is not None and power_state in ("deallocated", "deallocating"):
        return Price(0.0, listed.source)
    return listed


def storage_configuration(full: Mapping[str, Any] | None) -> dict[str, Any]:
    """A storage account's public-access and transport settings, from its own read (never its
    keys or connection strings: those need a POST listKeys this module never makes)."""
    properties = (full or {}).get("properties") or {}
    network = properties.get("networkAcls") or {}
    encryption = properties.get("encryption") or {}
    return configuration(
        allowBlobPublicAccess=properties.get("allowBlobPublicAccess"),
        minimumTlsVersion=properties.get("minimumTlsVersion"),
        httpsOnly=properties.get("supportsHttpsTrafficOnly"),
        publicNetworkAccess=properties.get("publicNetworkAccess"),
        networkDefaultAction=network.get("defaultAction"),
        allowSharedKeyAccess=properties.get("allowSharedKeyAccess"),
        encryptionKeySource=encryption.get("keySource"),
    )


def vm_configuration(vm: Mapping[str, Any] | None) -> dict[str, Any]:
    """A VM's security profile and identity, from its own read (no OS profile secrets: Azure
    never returns admin passwords or custom data)."""
    properties = (vm or {}).get("properties") or {}
    security = properties.get("securityProfile") or {}
    uefi = security.get("uefiSettings") or {}
    return configuration(
        encryptionAtHost=security.get("encryptionAtHost"),
        secureBoot=uefi.get("secureBootEnabled"),
        identityType=((vm or {}).get("identity") or {}).get("type"),
    )


def group_relation(resource_id: str, subscription_id: str) -> tuple[Relation, ...]:
    """Any resource MEMBER_OF its resource group (the group's id as the groups listing has it)."""
    group = resource_group_of(resource_id)
    if group is None:
        return ()
    target = f"/subscriptions/{subscription_id}/resourceGroups/{group}"
    return (Relation(RelationType.MEMBER_OF, target),)


def resource_record(
    item: Mapping[str, Any],
    subscription_id: str,
    vm: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> ResourceRecord:
    """One generic-list item; `vm` is the VM's own read (size, power state) when it is one,
    `detail` the resource's own read for kinds whose configuration needs it."""
    native_type = str(item.get("type") or "unknown")
    raw_id = item.get("id")
    resource_id = raw_id if isinstance(raw_id, str) else ""
    kind = item.get("kind")
    resource_type = resource_type_of(native_type, kind)
    properties = item.get("properties") or {}
    state = item.get("provisioningState") or properties.get("provisioningState")
    status = map_status(state, PROVISIONING_STATES)
    sku = item.get("sku") or {}
    size = power = None
    region = str(item.get("location") or GLOBAL_REGION).lower()
    cost: Price | None = None
    settings: dict[str, Any] = {}
    if native_type.lower() == VIRTUAL_MACHINE:
        size = vm_size_of(vm or item)
        power = power_state_of(vm or item)
        if power is not None:
            status = map_status(power, POWER_STATES)
        cost = vm_price(size, power, region)
        settings = vm_configuration(vm)
    elif native_type.lower() == STORAGE_ACCOUNT:
        settings = storage_configuration(detail)
    return ResourceRecord(
        provider=Provider.AZURE,
        account=subscription_id,
        region=region,
        type=resource_type,
        native_type=native_type,
        resource_id=text(raw_id),
        name=text(item.get("name") or resource_id.rsplit("/", 1)[-1]),
        status=status,
        tags=clean_tags(item.get("tags")),
        metadata=metadata(
            resourceGroup=resource_group_of(resource_id),
            kind=kind,
            sku=sku.get("name"),
            skuTier=sku.get("tier"),
            vmSize=size,
            powerState=power,
            provisioningState=state,
            managedBy=item.get("managedBy"),
            createdTime=item.get("createdTime"),
            changedTime=item.get("changedTime"),
        ),
        **priced(cost),
        configuration=settings,
        relations=group_relation(resource_id, subscription_id),
    )


def resource_group_record(item: Mapping[str, Any], subscription_id: str) -> ResourceRecord:
    properties = item.get("properties") or {}
    state = properties.get("provisioningState")
    return ResourceRecord(
        provider=Provider.AZURE,
        account=subscription_id,
        region=str(item.get("location") or GLOBAL_REGION).lower(),
        type=ResourceType.OTHER,
        native_type=RESOURCE_GROUP,
        resource_id=text(item.get("id")),
        name=text(item.get("name")),
        status=map_status(state, PROVISIONING_STATES),
        tags=clean_tags(item.get("tags")),
        metadata=metadata(provisioningState=state, managedBy=item.get("managedBy")),
    )


def guarded(build: Callable[[], ResourceRecord], item: Mapping[str, Any]) -> ResourceRecord:
    """One item's record, or a rejected one when its shape is not what ARM documents."""
    try:
        return build()
    except SHAPE_ERRORS:
        return unreadable(Provider.AZURE, item.get("id"), item.get("type"))
