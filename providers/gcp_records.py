"""Cloud Asset `searchAllResources` results → `ResourceRecord`s."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from db.enums import Provider, RelationType, ResourceStatus, ResourceType
from providers.base import GLOBAL_REGION, Relation, ResourceRecord
from providers.normalize import (
    SHAPE_ERRORS,
    clean_tags,
    configuration,
    map_status,
    metadata,
    price,
    priced,
    text,
    unreadable,
)
from providers.wire import RAW_RESULT

INSTANCE = "compute.googleapis.com/Instance"
BUCKET = "storage.googleapis.com/Bucket"
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
# Public members as a Cloud Asset IAM search query (the server filters; we check again).
PUBLIC_POLICY_QUERY = "policy:(allUsers OR allAuthenticatedUsers)"
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
    "secretmanager.googleapis.com/Secret": ResourceType.SECURITY,
}
TYPE_BY_SERVICE = {
    "iam.googleapis.com": ResourceType.IDENTITY,
    "container.googleapis.com": ResourceType.CONTAINER,
    "artifactregistry.googleapis.com": ResourceType.CONTAINER,
    "cloudkms.googleapis.com": ResourceType.SECURITY,
    "dns.googleapis.com": ResourceType.DNS,
    "pubsub.googleapis.com": ResourceType.QUEUE,
    "cloudtasks.googleapis.com": ResourceType.QUEUE,
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
    if service in TYPE_BY_SERVICE:
        return TYPE_BY_SERVICE[service]
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


def public_bindings(policies: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Resource name → its bindings granting a role to allUsers or allAuthenticatedUsers, from
    Cloud Asset `searchAllIamPolicies` results."""
    found: dict[str, list[dict[str, str]]] = {}
    for result in policies:
        resource = str(result.get("resource") or "")
        for binding in (result.get("policy") or {}).get("bindings") or []:
            for member in binding.get("members") or []:
                if member in PUBLIC_MEMBERS:
                    found.setdefault(resource, []).append(
                        {"role": str(binding.get("role") or ""), "member": str(member)}
                    )
    return found


def _bucket_configuration(full: Mapping[str, Any], bindings: list[dict[str, str]]) -> Any:
    access = full.get("iamConfiguration") or {}
    uniform = access.get("uniformBucketLevelAccess") or {}
    return configuration(
        publicBindings=sorted(bindings, key=lambda b: (b["role"], b["member"])),
        publicAccessPrevention=access.get("publicAccessPrevention"),
        uniformBucketLevelAccess=uniform.get("enabled"),
        versioning=(full.get("versioning") or {}).get("enabled"),
        defaultKmsKey=(full.get("encryption") or {}).get("defaultKmsKeyName"),
    )


def _project_relation(item: Mapping[str, Any], project_id: str) -> tuple[Relation, ...]:
    """Any asset MEMBER_OF its project, named as Cloud Asset names the project asset."""
    if item.get("asset_type") == "cloudresourcemanager.googleapis.com/Project":
        return ()
    project = str(item.get("project") or f"projects/{project_id}")
    target = f"//cloudresourcemanager.googleapis.com/{project}"
    return (Relation(RelationType.MEMBER_OF, target),)


def search_record(
    item: Mapping[str, Any],
    project_id: str,
    public: Mapping[str, list[dict[str, str]]] | None = None,
) -> ResourceRecord:
    """One search result; `public` maps resource names to their public IAM bindings."""
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
        configuration=(
            _bucket_configuration(full, list((public or {}).get(resource_id, [])))
            if asset_type == BUCKET
            else {}
        ),
        relations=_project_relation(item, project_id),
    )


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def guarded_record(
    item: Mapping[str, Any],
    project_id: str,
    public: Mapping[str, list[dict[str, str]]] | None = None,
) -> ResourceRecord:
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
        return search_record(item, project_id, public)
    except SHAPE_ERRORS:
        return unreadable(Provider.GCP, item.get("name"), item.get("asset_type"))
