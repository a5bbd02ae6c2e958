"""Every table of the application; importing this package registers them all on `Base.metadata`.

Models end in `Row` (`CloudCredentialRow` is a stored `CloudCredential`), so a module can use a
model and the GraphQL type of the same thing side by side without aliasing either.
"""

from db.models.accounts import RefreshTokenRow, UserRow
from db.models.aggregates import ResourceCountRow
from db.models.audit import AuditEventRow
from db.models.cloud_accounts import CloudAccountRow
from db.models.credentials import CloudCredentialRow
from db.models.findings import FindingCountRow, FindingRow
from db.models.history import ResourceChangeRow
from db.models.inventory import CloudResourceRow
from db.models.keys import KeyAgeRow
from db.models.relations import ResourceRelationRow
from db.models.security import SecurityEventRow
from db.models.sync import SyncJobPartRow, SyncJobRow, SyncScopeRow
from db.models.two_factor import MfaChallengeRow, RecoveryCodeRow, TotpFactorRow
from db.models.webhooks import WebhookDeliveryRow, WebhookRow

OWNED_MODELS = (
    RefreshTokenRow,
    AuditEventRow,
    CloudCredentialRow,
    CloudResourceRow,
    ResourceRelationRow,
    ResourceChangeRow,
    ResourceCountRow,
    SyncJobRow,
    SyncJobPartRow,
    SyncScopeRow,
    CloudAccountRow,
    TotpFactorRow,
    RecoveryCodeRow,
    MfaChallengeRow,
    SecurityEventRow,
    WebhookRow,
    WebhookDeliveryRow,
    FindingRow,
    FindingCountRow,
)

__all__ = [
    "OWNED_MODELS",
    "AuditEventRow",
    "CloudAccountRow",
    "CloudCredentialRow",
    "CloudResourceRow",
    "FindingCountRow",
    "FindingRow",
    "KeyAgeRow",
    "MfaChallengeRow",
    "RecoveryCodeRow",
    "RefreshTokenRow",
    "ResourceChangeRow",
    "ResourceCountRow",
    "ResourceRelationRow",
    "SecurityEventRow",
    "SyncJobPartRow",
    "SyncJobRow",
    "SyncScopeRow",
    "TotpFactorRow",
    "UserRow",
    "WebhookDeliveryRow",
    "WebhookRow",
]
