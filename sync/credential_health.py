"""A sync's outcome is the freshest evidence of a credential's health: record it on the
credential, as `verifyCredential` does, so the health shown never lags behind the last sync.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import HealthStatus, SyncJobStatus
from db.models import CloudCredentialRow
from providers.base import ERROR_AUTH

MAX_MESSAGE = 500


def health_of_sync(
    status: SyncJobStatus, errors: Sequence[dict[str, str]]
) -> tuple[HealthStatus, str | None]:
    """HEALTHY after a clean sync; ERROR when the cloud refused the credential or nothing could
    be listed; DEGRADED when some scopes failed for other reasons (the credential works)."""
    refused = next((e for e in errors if e.get("code") == ERROR_AUTH), None)
    if refused is not None:
        return HealthStatus.ERROR, refused["message"][:MAX_MESSAGE]
    if status == SyncJobStatus.SUCCEEDED:
        return HealthStatus.HEALTHY, None
    if status == SyncJobStatus.FAILED:
        first = errors[0]["message"] if errors else "The last sync failed."
        return HealthStatus.ERROR, first[:MAX_MESSAGE]
    codes = sorted({e.get("code", "") for e in errors})
    return (
        HealthStatus.DEGRADED,
        f"The last sync could not list {len(errors)} scopes ({', '.join(codes)})."[:MAX_MESSAGE],
    )


async def record_sync_health(
    session: AsyncSession,
    credential_id: uuid.UUID,
    status: SyncJobStatus,
    errors: Sequence[dict[str, str]],
    *,
    response_ms: int | None,
    at: datetime,
) -> None:
    health, message = health_of_sync(status, errors)
    await session.execute(
        update(CloudCredentialRow)
        .where(CloudCredentialRow.id == credential_id)
        .values(
            health_status=health,
            health_response_ms=response_ms,
            health_checked_at=at,
            health_error=message,
            last_used_at=at,
            updated_at=CloudCredentialRow.updated_at,  # a sync is not an edit of the credential
        )
        .execution_options(synchronize_session=False)
    )
