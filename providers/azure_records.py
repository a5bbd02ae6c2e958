"""Azure Resource Manager shapes (wire JSON of the generic resource list) → `ResourceRecord`s."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from db.enums import Provider, ResourceStatus, ResourceType
from providers.base import GLOBAL_REGION, ResourceRecord
from providers.normalize import (
    SHAPE_ERRORS,
    Price,
    clean_tags,
    map_status,
    metadata,
    price,
    priced,
    text,
    unreadable,
)

RESOURCE_GROUP = "Microsoft.Resources/resourceGroups"
VIRTUAL_MACHINE = "microsoft.compute/virtualmachines"

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


def resource_record(
    item: Mapping[str, Any], subscription_id: str, vm: Mapping[str, Any] | None = None
) -> ResourceRecord:
    """One generic-list item; `vm` is the VM's own read (size, power state) when it is one."""
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
    if native_type.lower() == VIRTUAL_MACHINE:
        size = vm_size_of(vm or item)
        power = power_state_of(vm or item)
        if power is not None:
            status = map_status(power, POWER_STATES)
        cost = vm_price(size, power, region)
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
