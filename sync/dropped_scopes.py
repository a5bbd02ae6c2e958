"""Scopes that left the plan (a region opted out, `AWS_SYNC_REGIONS` narrowed, a resource group
deleted): their rows would otherwise stay live for ever, since no listing of theirs will ever
complete again. They are marked deleted once, explicitly, and the scope is forgotten.

Only the accounts whose plan succeeded this time are considered: a member account that could
not be planned (AccessDenied on its role, suspended, unreachable) planned nothing, and reading
that as "every scope of it left the plan" would delete its whole inventory.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CloudCredentialRow, SyncScopeRow
from providers.base import Scope
from sync import aggregates
from sync.aggregates import Deltas
from sync.findings.store import resolve_retired_scope
from sync.history import ChangeLog
from sync.store import mark_stale

logger = logging.getLogger("stratograph.sync")
_HISTORY_BATCH = 500


async def retire_unplanned_scopes(
    session: AsyncSession,
    credential: CloudCredentialRow,
    planned: Iterable[Scope],
    at: datetime,
    *,
    job_id: uuid.UUID,
    account: str = "",
) -> int:
    """Mark deleted the rows of every recorded scope of `account` (empty: a credential of one
    account) the plan of that account no longer contains (the aggregates and the DELETED change
    records of job `job_id` follow in the same transaction), and drop those scope records;
    returns how many rows were marked."""
    credential_id = credential.id
    keep = {(scope.region, scope.kind) for scope in planned if scope.account == account}
    recorded = (
        await session.execute(
            select(SyncScopeRow.id, SyncScopeRow.region, SyncScopeRow.kind).where(
                SyncScopeRow.credential_id == credential_id, SyncScopeRow.account == account
            )
        )
    ).all()
    gone = [row for row in recorded if (row.region, row.kind) not in keep]
    removed = 0
    deltas = Deltas()
    history = ChangeLog(job_id, at)
    for row in gone:
        key = Scope(row.region, row.kind, account=account).key
        marked = await mark_stale(session, credential_id, key, at, deltas, history)
        await resolve_retired_scope(session, credential, key, at=at)
        logger.info(
            "credential %s: scope %s left the plan; %d resources marked deleted",
            credential_id,
            key,
            marked,
        )
        removed += marked
    await aggregates.apply(session, credential_id, credential.user_id, deltas)
    await history.write(session, _HISTORY_BATCH)
    if gone:
        await session.execute(
            delete(SyncScopeRow).where(SyncScopeRow.id.in_([row.id for row in gone]))
        )
    return removed
