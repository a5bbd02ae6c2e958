"""Every table of the application; importing this package registers them all on `Base.metadata`."""

from db.models.accounts import RefreshToken, User
from db.models.audit import AuditEvent
from db.models.credentials import CloudCredential
from db.models.inventory import Resource
from db.models.relations import ResourceRelation
from db.models.sync import SyncJob, SyncScope

OWNED_MODELS = (
    RefreshToken,
    AuditEvent,
    CloudCredential,
    Resource,
    ResourceRelation,
    SyncJob,
    SyncScope,
)

__all__ = [
    "OWNED_MODELS",
    "AuditEvent",
    "CloudCredential",
    "RefreshToken",
    "Resource",
    "ResourceRelation",
    "SyncJob",
    "SyncScope",
    "User",
]
