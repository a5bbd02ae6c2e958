"""GraphQL enums shared by several domains; names mirror `db.enums`."""

from __future__ import annotations

from enum import Enum

import strawberry

from db import enums as db_enums


@strawberry.enum(description="A cloud provider.")
class Provider(Enum):
    AWS = strawberry.enum_value(db_enums.Provider.AWS.value, description="Amazon Web Services.")
    AZURE = strawberry.enum_value(db_enums.Provider.AZURE.value, description="Microsoft Azure.")
    GCP = strawberry.enum_value(db_enums.Provider.GCP.value, description="Google Cloud.")


@strawberry.enum(description="The category a cloud resource falls in.")
class ResourceType(Enum):
    VM = strawberry.enum_value("VM", description="Virtual machines and instances.")
    STORAGE = strawberry.enum_value("STORAGE", description="Buckets, disks and volumes.")
    NETWORK = strawberry.enum_value(
        "NETWORK", description="Networks, subnets, security groups, addresses."
    )
    DATABASE = strawberry.enum_value("DATABASE", description="Managed databases.")
    FUNCTION = strawberry.enum_value("FUNCTION", description="Serverless functions.")
    IDENTITY = strawberry.enum_value(
        "IDENTITY", description="Identities and their permissions: roles, users, policies."
    )
    CONTAINER = strawberry.enum_value(
        "CONTAINER", description="Container clusters, services and image registries."
    )
    SECURITY = strawberry.enum_value(
        "SECURITY", description="Keys, secrets vaults, certificates and firewalls' policies."
    )
    DNS = strawberry.enum_value("DNS", description="DNS zones.")
    QUEUE = strawberry.enum_value("QUEUE", description="Message queues and topics.")
    OTHER = strawberry.enum_value("OTHER", description="Anything else.")


@strawberry.enum(description='How a resource connects to another, read as "resource TYPE other".')
class RelationType(Enum):
    MEMBER_OF = strawberry.enum_value(
        "MEMBER_OF",
        description="Lives inside the other: subnet in a VPC, instance in a subnet, any Azure "
        "resource in its resource group, a GCP asset in its project.",
    )
    PROTECTED_BY = strawberry.enum_value(
        "PROTECTED_BY", description="Its traffic is filtered by the other (a security group)."
    )
    ATTACHED_TO = strawberry.enum_value(
        "ATTACHED_TO",
        description="Attached to the other: a volume to an instance, an address to an instance, "
        "a gateway to a VPC.",
    )
    ROUTES_TO = strawberry.enum_value(
        "ROUTES_TO",
        description="Sends traffic to the other: a load balancer to its targets, a distribution "
        "to its origin.",
    )
    USES = strawberry.enum_value(
        "USES",
        description="Acts with or depends on the other: a function's IAM role, a role's policy, "
        "an encryption key.",
    )


@strawberry.enum(description="Which end of a relation the resource is.")
class RelationDirection(Enum):
    OUTGOING = strawberry.enum_value(
        "OUTGOING", description="From this resource to the other (this resource TYPE other)."
    )
    INCOMING = strawberry.enum_value(
        "INCOMING", description="From the other resource to this one (other TYPE this resource)."
    )


@strawberry.enum(description="Normalized lifecycle state of a resource.")
class ResourceStatus(Enum):
    RUNNING = strawberry.enum_value("RUNNING", description="Running.")
    STOPPED = strawberry.enum_value("STOPPED", description="Stopped or deallocated.")
    PENDING = strawberry.enum_value("PENDING", description="Starting, stopping or provisioning.")
    TERMINATED = strawberry.enum_value("TERMINATED", description="Terminated or being deleted.")
    ACTIVE = strawberry.enum_value("ACTIVE", description="Exists and usable (no run state).")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description="The provider reported no state.")


@strawberry.enum(description="Result of the last check of a credential.")
class HealthStatus(Enum):
    HEALTHY = strawberry.enum_value("HEALTHY", description="The identity call succeeded quickly.")
    DEGRADED = strawberry.enum_value(
        "DEGRADED", description="The identity call succeeded but took over one second."
    )
    ERROR = strawberry.enum_value("ERROR", description="The identity call failed.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description="Never checked.")


@strawberry.enum(description="Where a sync job is in its life.")
class SyncJobStatus(Enum):
    QUEUED = strawberry.enum_value("QUEUED", description="Waiting for a worker.")
    RUNNING = strawberry.enum_value("RUNNING", description="Listing and saving resources.")
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="Every scope was listed.")
    PARTIAL = strawberry.enum_value(
        "PARTIAL", description="Some scopes failed; their inventory was left untouched."
    )
    FAILED = strawberry.enum_value("FAILED", description="Nothing could be listed.")


@strawberry.enum(description="What started a sync job.")
class SyncTrigger(Enum):
    MANUAL = strawberry.enum_value("MANUAL", description="A user asked for it.")
    SCHEDULED = strawberry.enum_value("SCHEDULED", description="The periodic schedule.")


@strawberry.enum(description="Whether an audited action succeeded.")
class AuditOutcome(Enum):
    SUCCESS = strawberry.enum_value("SUCCESS", description="The action succeeded.")
    FAILURE = strawberry.enum_value("FAILURE", description="The action was refused or failed.")


@strawberry.enum(description="How bad a failed rule is, highest first.")
class Severity(Enum):
    CRITICAL = strawberry.enum_value(
        "CRITICAL", description="Exposed now: data or control open to anyone."
    )
    HIGH = strawberry.enum_value("HIGH", description="A likely path to compromise.")
    MEDIUM = strawberry.enum_value("MEDIUM", description="A weakened protection.")
    LOW = strawberry.enum_value("LOW", description="A missing good practice.")
    INFO = strawberry.enum_value("INFO", description="Worth knowing; rarely a risk by itself.")


@strawberry.enum(description="Where a finding is in its lifecycle.")
class FindingStatus(Enum):
    OPEN = strawberry.enum_value(
        "OPEN",
        description="The rule failed on the resource's last complete listing (also a "
        "suppression whose `until` has passed).",
    )
    RESOLVED = strawberry.enum_value(
        "RESOLVED",
        description="A later complete listing showed the rule passing, or the resource gone.",
    )
    SUPPRESSED = strawberry.enum_value(
        "SUPPRESSED", description="Failing, but accepted by its owner (until a date, or for ever)."
    )
