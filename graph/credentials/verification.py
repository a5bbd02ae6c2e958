"""`verifyCredential`'s work: run the provider's identity check and record the health."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.problems import Problem
from db.audit import Client, record_audit
from db.enums import AuditOutcome, HealthStatus
from db.models import CloudCredentialRow
from db.scoping import ScopedDatabase
from db.types import utcnow
from graph.credentials.service import NOT_FOUND, decode_credential_id
from providers.base import HealthResult
from providers.endpoints import CloudEndpoints
from providers.health import check_health
from security.vault import Vault

ACTION = "credential.verify"


@dataclass
class VerifyOutcome:
    result: HealthResult | None = None
    checked_at: datetime | None = None
    problems: list[Problem] = field(default_factory=list)


async def verify_credential(
    db: ScopedDatabase,
    vault: Vault,
    endpoints: CloudEndpoints,
    client: Client,
    credential_global_id: str,
) -> VerifyOutcome:
    credential_id = decode_credential_id(credential_global_id)
    scope = db.scope
    row: CloudCredentialRow | None = None
    if credential_id is not None:
        async with db.session() as session:
            statement = scope.select(CloudCredentialRow).where(
                CloudCredentialRow.id == credential_id
            )
            row = (await session.scalars(statement)).first()
    if row is None:
        return VerifyOutcome(problems=[NOT_FOUND])
    # No transaction stays open while the cloud is called.
    result = await check_health(row, vault, endpoints)
    checked_at = utcnow()
    async with db.session() as session:
        await session.execute(
            scope.update(CloudCredentialRow)
            .where(CloudCredentialRow.id == row.id)
            .values(
                health_status=result.status,
                health_response_ms=result.response_time_ms,
                health_checked_at=checked_at,
                health_error=result.error_message,
                last_used_at=checked_at,
                updated_at=row.updated_at,  # a check is not an edit of the credential
            )
        )
        record_audit(
            session,
            ACTION,
            AuditOutcome.FAILURE if result.status == HealthStatus.ERROR else AuditOutcome.SUCCESS,
            user_id=scope.user_id,
            ip=client.ip,
            user_agent=client.user_agent,
            details={
                "credential_id": str(row.id),
                "provider": row.provider.value,
                "status": result.status.value,
                "response_time_ms": result.response_time_ms,
            },
        )
    return VerifyOutcome(result=result, checked_at=checked_at)
