"""Cloud Asset `searchAllResources` results → `ResourceRecord`s."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from db.enums import Provider, ResourceStatus, ResourceType
from providers.base import GLOBAL_REGION, ResourceRecord
from providers.normalize import (
    SHAPE_ERRORS,
    clean_tags,
    map_status,
    metadata,
    price,
    priced,
    text,
    unreadable,
)
from providers.wire import RAW_RESULT

INSTANCE = "compute.googleapis.com/Instance"
ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")

S = ResourceStatus
STATES = {
    "running": S.RUNNING,
    "provisioning": S.PENDING,
    "staging": S.PENDING,
    "repairing": S.PENDING,
    "creating": S.PENDING,
    "pending": S.PENDING,
    "pending_create": S.PENDING,
    "stopping": S.PENDING,
    "suspending": S.PENDING,
    "updating": S.PENDING,
    "stopped": S.STOPPED,
    "suspended": S.STOPPED,
    "terminated": S.STOPPED,  # a GCE instance in TERMINATED is stopped, not deleted
    "ready": S.ACTIVE,
    "active": S.ACTIVE,
    "runnable": S.ACTIVE,
    "available": S.ACTIVE,
    "enabled": S.ACTIVE,
    "deleting": S.TERMINATED,
    "deleted": S.TERMINATED,
}
TYPE_BY_NATIVE_TYPE = {
    INSTANCE: ResourceType.VM,
    "storage.googleapis.com/Bucket": ResourceType.STORAGE,
    "compute.googleapis.com/Disk": ResourceType.STORAGE,
    "compute.googleapis.com/Snapshot": ResourceType.STORAGE,
    "compute.googleapis.com/Image": ResourceType.STORAGE,
    "file.googleapis.com/Instance": ResourceType.STORAGE,
    "sqladmin.googleapis.com/Instance": ResourceType.DATABASE,
    "redis.googleapis.com/Instance": ResourceType.DATABASE,
    "cloudfunctions.googleapis.com/CloudFunction": ResourceType.FUNCTION,
    "cloudfunctions.googleapis.com/Function": ResourceType.FUNCTION,
    "run.googleapis.com/Service": ResourceType.FUNCTION,
}
NETWORK_COMPUTE_TYPES = frozenset(
    {
        "Network",
        "Subnetwork",
        "Firewall",
        "Address",
        "GlobalAddress",
        "Router",
        "Route",
        "ForwardingRule",
        "GlobalForwardingRule",
        "BackendService",
        "TargetHttpProxy",
        "TargetHttpsProxy",
        "UrlMap",
        "VpnGateway",
    }
)
DATABASE_SERVICES = frozenset(
    {"spanner.googleapis.com", "bigtableadmin.googleapis.com", "alloydb.googleapis.com"}
)


def resource_type_of(asset_type: str) -> ResourceType:
    if asset_type in TYPE_BY_NATIVE_TYPE:
        return TYPE_BY_NATIVE_TYPE[asset_type]
    service, _, kind = asset_type.partition("/")
    if service == "compute.googleapis.com" and kind in NETWORK_COMPUTE_TYPES:
        return ResourceType.NETWORK
    if service == "dns.googleapis.com":
        return ResourceType.NETWORK
    if service in DATABASE_SERVICES:
        return ResourceType.DATABASE
    return ResourceType.OTHER


def region_of(location: str | None) -> tuple[str, str | None]:
    """(region, zone): zones like us-central1-a belong to region us-central1."""
    if not location:
        return GLOBAL_REGION, None
    match = ZONE.match(location)
    if match:
        return match.group(1), location
    return location, None


def _full_resource(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The resource's own JSON when the search returned versioned resources."""
    for versioned in item.get("versioned_resources") or []:
        resource = versioned.get("resource")
        if isinstance(resource, Mapping):
            return resource
    return {}


def _machine_type(item: Mapping[str, Any], full: Mapping[str, Any]) -> str | None:
    raw = (item.get("additional_attributes") or {}).get("machineType") or full.get("machineType")
    return str(raw).rsplit("/", 1)[-1] if raw else None


def _addresses(full: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    internal: list[str] = []
    external: list[str] = []
    for nic in full.get("networkInterfaces") or []:
        if nic.get("networkIP"):
            internal.append(str(nic["networkIP"]))
        for access in nic.get("accessConfigs") or []:
            if access.get("natIP"):
                external.append(str(access["natIP"]))
    return internal, external


def search_record(item: Mapping[str, Any], project_id: str) -> ResourceRecord:
    asset_type = str(item.get("asset_type") or "unknown")
    raw_id = item.get("name")
    resource_id = raw_id if isinstance(raw_id, str) else ""
    region, zone = region_of(item.get("location"))
    status = map_status(item.get("state"), STATES, default=ResourceStatus.ACTIVE)
    full = _full_resource(item)
    size = _machine_type(item, full) if asset_type == INSTANCE else None
    internal, external = _addresses(full)
    attributes = item.get("additional_attributes") or {}
    return ResourceRecord(
        provider=Provider.GCP,
        account=project_id,
        region=region,
        type=resource_type_of(asset_type),
        native_type=asset_type,
        resource_id=text(raw_id),
        name=text(item.get("display_name") or resource_id.rsplit("/", 1)[-1]),
        status=status,
        tags=clean_tags(item.get("labels")),
        metadata=metadata(
            zone=zone,
            machineType=size,
            internalIps=internal or attributes.get("internalIPs"),
            externalIps=external or attributes.get("externalIPs"),
            networkTags=item.get("network_tags"),
            cidrBlock=full.get("ipCidrRange"),
            description=item.get("description"),
            state=item.get("state"),
            createTime=item.get("create_time"),
            updateTime=item.get("update_time"),
            parent=item.get("parent_full_resource_name"),
        ),
        **priced(price("gcp_compute", size, region), status),
    )


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def guarded_record(item: Mapping[str, Any], project_id: str) -> ResourceRecord:
    """A search result's record. A result protobuf could not read arrives as its raw JSON
    (`providers.wire`): it is built from that, with the shapes it has, and normalization reports
    what it had to change; a result even that cannot describe is skipped alone."""
    raw = (item.get("additional_attributes") or {}).get(RAW_RESULT)
    if isinstance(raw, str):
        decoded = json.loads(raw)
        if not isinstance(decoded, dict):
            return unreadable(Provider.GCP, None, None)
        item = {_snake(str(key)): value for key, value in decoded.items()}
    try:
        return search_record(item, project_id)
    except SHAPE_ERRORS:
        return unreadable(Provider.GCP, item.get("name"), item.get("asset_type"))
