"""Enumerations stored as strings; the GraphQL enums mirror these names."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"


class Provider(StrEnum):
    AWS = "AWS"
    AZURE = "AZURE"
    GCP = "GCP"


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    ERROR = "ERROR"
    UNKNOWN = "UNKNOWN"


class ResourceType(StrEnum):
    VM = "VM"
    STORAGE = "STORAGE"
    NETWORK = "NETWORK"
    DATABASE = "DATABASE"
    FUNCTION = "FUNCTION"
    IDENTITY = "IDENTITY"
    CONTAINER = "CONTAINER"
    SECURITY = "SECURITY"
    DNS = "DNS"
    QUEUE = "QUEUE"
    OTHER = "OTHER"


class RelationType(StrEnum):
    """How a resource connects to another; read as "source TYPE target"."""

    MEMBER_OF = "MEMBER_OF"
    PROTECTED_BY = "PROTECTED_BY"
    ATTACHED_TO = "ATTACHED_TO"
    ROUTES_TO = "ROUTES_TO"
    USES = "USES"


class AccountStatus(StrEnum):
    """Whether one cloud account (AWS account, Azure subscription, GCP project) of a credential
    could be listed on its last sync."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    UNREACHABLE = "UNREACHABLE"
    ACCESS_DENIED = "ACCESS_DENIED"


class ResourceStatus(StrEnum):
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    PENDING = "PENDING"
    TERMINATED = "TERMINATED"
    ACTIVE = "ACTIVE"
    UNKNOWN = "UNKNOWN"


class SyncJobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"


class SyncTrigger(StrEnum):
    MANUAL = "MANUAL"
    SCHEDULED = "SCHEDULED"


class AuditOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


ACTIVE_JOB_STATUSES = (SyncJobStatus.QUEUED, SyncJobStatus.RUNNING)


class SecurityEventKind(StrEnum):
    """Suspicious or security-relevant changes worth telling the account's owner about."""

    ACCOUNT_UNDER_ATTACK = "ACCOUNT_UNDER_ATTACK"
    NEW_LOCATION = "NEW_LOCATION"
    TOKEN_REUSE = "TOKEN_REUSE"  # noqa: S105 - an event name
    TOTP_DISABLED = "TOTP_DISABLED"
    CREDENTIAL_SECRET_REPLACED = "CREDENTIAL_SECRET_REPLACED"  # noqa: S105 - an event name


class SecurityEventSeverity(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class WebhookEvent(StrEnum):
    SYNC_FINISHED = "SYNC_FINISHED"
    FINDING_OPENED = "FINDING_OPENED"
    FINDING_RESOLVED = "FINDING_RESOLVED"
    SECURITY_EVENT = "SECURITY_EVENT"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ResourceChangeKind(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    RESTORED = "RESTORED"


class Severity(StrEnum):
    """How bad a failed rule is (the catalogue's severities, highest first)."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"


class FindingStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"
    SUPPRESSED = "SUPPRESSED"
