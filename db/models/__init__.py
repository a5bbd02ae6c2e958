"""Every table of the application; importing this package registers them all on `Base.metadata`."""

from db.models.accounts import RefreshToken, User
from db.models.audit import AuditEvent
from db.models.credentials import CloudCredential
from db.models.inventory import Resource
from db.models.security import SecurityEvent
from db.models.sync import SyncJob, SyncScope
from db.models.two_factor import MfaChallenge, RecoveryCode, TotpFactor

OWNED_MODELS = (
    RefreshToken,
    AuditEvent,
    CloudCredential,
    Resource,
    SyncJob,
    SyncScope,
    TotpFactor,
    RecoveryCode,
    MfaChallenge,
    SecurityEvent,
)

__all__ = [
    "OWNED_MODELS",
    "AuditEvent",
    "CloudCredential",
    "MfaChallenge",
    "RecoveryCode",
    "RefreshToken",
    "Resource",
    "SecurityEvent",
    "SyncJob",
    "SyncScope",
    "TotpFactor",
    "User",
]
