"""Housekeeping the scheduler runs about once an hour: purge long-deleted inventory and old change
records, tell owners about cloud secrets that were not replaced for KEY_MAX_AGE_DAYS, and reopen
findings whose suppression lapsed.

Each step is one short system transaction, idempotent, and safe on several machines at once
(a second run finds nothing left to do).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from db.audit import record_audit
from db.engine import Database
from db.enums import AuditOutcome, Provider
from db.models import CloudCredentialRow, CloudResourceRow, ResourceChangeRow
from db.types import utcnow
from sync.findings.maintenance import reopen_lapsed_suppressions

logger = logging.getLogger("stratograph.maintenance")

# Change records deleted per transaction: a large purge never holds long locks nor one huge
# transaction, and a second machine running it at once only finds less to do.
HISTORY_PURGE_BATCH = 5000
SECRET_AGE_ACTION = "credential.secret_age"  # noqa: S105 (an audit action name)
# AWS access key ids of temporary (STS) credentials start with ASIA; those expire on their own.
TEMPORARY_AWS_PREFIX = "ASIA"


def holds_long_lived_secret(row: CloudCredentialRow) -> bool:
    """Whether the stored secret is a key that only expires when someone replaces it.

    Judged from non-secret columns only: the fingerprint keeps an AWS key id's first four
    characters. Azure client secrets and GCP service-account keys are long-lived."""
    if row.provider == Provider.AWS:
        return not row.fingerprint.startswith(TEMPORARY_AWS_PREFIX)
    return True


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    purged: int
    old_secrets_reported: int
    history_purged: int = 0
    suppressions_lapsed: int = 0


async def purge_deleted(database: Database, older_than: datetime) -> int:
    """Delete resources marked deleted before `older_than`; returns how many."""
    async with database.system_session() as session:
        result = await session.execute(
            delete(CloudResourceRow)
            .where(
                CloudResourceRow.deleted_at.is_not(None), CloudResourceRow.deleted_at < older_than
            )
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0))


async def purge_history(
    database: Database, older_than: datetime, batch_size: int = HISTORY_PURGE_BATCH
) -> int:
    """Delete change records from before `older_than`, `batch_size` per transaction (through
    the `at` index); returns how many."""
    total = 0
    while True:
        oldest = (
            select(ResourceChangeRow.id)
            .where(ResourceChangeRow.at < older_than)
            .limit(batch_size)
            .scalar_subquery()
        )
        async with database.system_session() as session:
            result = await session.execute(
                delete(ResourceChangeRow)
                .where(ResourceChangeRow.id.in_(oldest))
                .execution_options(synchronize_session=False)
            )
        deleted = int(getattr(result, "rowcount", 0))
        total += deleted
        if deleted < batch_size:
            return total


async def report_old_secrets(database: Database, max_age: timedelta, now: datetime) -> int:
    """One audit event per long-lived secret older than `max_age`, for its owner; a secret is
    reported once (until it is replaced)."""
    cutoff = now - max_age
    async with database.system_session() as session:
        rows = (
            await session.scalars(
                select(CloudCredentialRow).where(
                    CloudCredentialRow.secret_rotated_at < cutoff,
                    CloudCredentialRow.secret_age_reported_at.is_(None),
                )
            )
        ).all()
        reported = [row for row in rows if holds_long_lived_secret(row)]
        for row in reported:
            age_days = (now - row.secret_rotated_at).days
            record_audit(
                session,
                SECRET_AGE_ACTION,
                AuditOutcome.FAILURE,
                user_id=row.user_id,
                details={
                    "credential_id": str(row.id),
                    "provider": row.provider.value,
                    "fingerprint": row.fingerprint,
                    "secret_age_days": age_days,
                    "max_age_days": max_age.days,
                    "remedy": "create a new key in the cloud, then updateCredential with it",
                },
            )
            logger.warning(
                "credential %s holds a %s secret %d days old (limit %d): its owner was told",
                row.id,
                row.provider.value,
                age_days,
                max_age.days,
            )
        if reported:
            await session.execute(
                update(CloudCredentialRow)
                .where(CloudCredentialRow.id.in_([row.id for row in reported]))
                .values(secret_age_reported_at=now, updated_at=CloudCredentialRow.updated_at)
                .execution_options(synchronize_session=False)
            )
    return len(reported)


class Maintenance:
    def __init__(
        self,
        database: Database,
        *,
        deleted_retention: timedelta | None,
        secret_max_age: timedelta,
        history_retention: timedelta | None = None,
        every: timedelta = timedelta(hours=1),
        extra: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.database = database
        self.deleted_retention = deleted_retention
        self.history_retention = history_retention
        self.secret_max_age = secret_max_age
        self.every = every
        self.extra = extra
        self._last_run: datetime | None = None

    async def run(self, now: datetime | None = None) -> MaintenanceReport:
        moment = now or utcnow()
        purged = 0
        if self.deleted_retention is not None:
            purged = await purge_deleted(self.database, moment - self.deleted_retention)
            if purged:
                logger.info("purged %d resources deleted before the retention window", purged)
        history_purged = 0
        if self.history_retention is not None:
            history_purged = await purge_history(self.database, moment - self.history_retention)
            if history_purged:
                logger.info(
                    "purged %d change records older than the retention window", history_purged
                )
        reported = await report_old_secrets(self.database, self.secret_max_age, moment)
        async with self.database.system_session() as session:
            lapsed = await reopen_lapsed_suppressions(session, moment)
        if self.extra is not None:
            await self.extra()
        self._last_run = moment
        return MaintenanceReport(purged, reported, history_purged, lapsed)

    async def run_if_due(self, now: datetime) -> MaintenanceReport | None:
        if self._last_run is not None and now - self._last_run < self.every:
            return None
        return await self.run(now)
