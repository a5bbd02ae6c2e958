"""Scopes that left the plan (a region opted out, `AWS_SYNC_REGIONS` narrowed, a resource group
deleted): their rows would otherwise stay live for ever, since no listing of theirs will ever
complete again. They are marked deleted once, explicitly, and the scope is forgotten.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SyncScopeRow
from providers.base import Scope
from sync.findings.store import resolve_retired_scope
from sync.store import mark_stale

logger = logging.getLogger("stratograph.sync")


async def retire_unplanned_scopes(
    session: AsyncSession, credential_id: uuid.UUID, planned: Iterable[Scope], at: datetime
) -> int:
    """Mark deleted the rows of every recorded scope the current plan no longer contains, and
    drop those scope records; returns how many rows were marked."""
    keep = {(scope.region, scope.kind) for scope in planned}
    recorded = (
        await session.execute(
            select(SyncScopeRow.id, SyncScopeRow.region, SyncScopeRow.kind).where(
                SyncScopeRow.credential_id == credential_id
            )
        )
    ).all()
    gone = [row for row in recorded if (row.region, row.kind) not in keep]
    removed = 0
    for row in gone:
        key = f"{row.region}/{row.kind}"
        marked = await mark_stale(session, credential_id, key, at)
        await resolve_retired_scope(session, credential_id, key, at=at)
        logger.info(
            "credential %s: scope %s/%s left the plan; %d resources marked deleted",
            credential_id,
            row.region,
            row.kind,
            marked,
        )
        removed += marked
    if gone:
        await session.execute(
            delete(SyncScopeRow).where(SyncScopeRow.id.in_([row.id for row in gone]))
        )
    return removed
