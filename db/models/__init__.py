"""Every table of the application; importing this package registers them all on `Base.metadata`."""

from db.models.accounts import RefreshToken, User
from db.models.audit import AuditEvent
from db.models.credentials import CloudCredential
from db.models.inventory import Resource
from db.models.sync import SyncJob, SyncScope
from db.models.webhooks import Webhook, WebhookDelivery

OWNED_MODELS = (
    RefreshToken,
    AuditEvent,
    CloudCredential,
    Resource,
    SyncJob,
    SyncScope,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "OWNED_MODELS",
    "AuditEvent",
    "CloudCredential",
    "RefreshToken",
    "Resource",
    "SyncJob",
    "SyncScope",
    "User",
    "Webhook",
    "WebhookDelivery",
]
