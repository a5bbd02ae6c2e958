"""Housekeeping of findings: suppressions whose `until` has passed become OPEN again.

Reads already show such a finding as OPEN (`graph.findings.types.effective_status`); this step,
run by `sync.maintenance` about once an hour, stores it and counts it in `finding_counts` again,
so the dashboard's figures catch up within the housekeeping interval.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import FindingStatus
from db.models import FindingRow
from sync.findings.lifecycle import add_counts_for


async def reopen_lapsed_suppressions(session: AsyncSession, now: datetime) -> int:
    """Turn lapsed suppressions into OPEN findings (suppression kept, for the record)."""
    result = await session.execute(
        update(FindingRow)
        .where(
            FindingRow.status == FindingStatus.SUPPRESSED,
            FindingRow.suppressed_until.is_not(None),
            FindingRow.suppressed_until <= now,
        )
        .values(status=FindingStatus.OPEN)
        .returning(FindingRow.user_id, FindingRow.credential_id, FindingRow.rule_id)
        .execution_options(synchronize_session=False)
    )
    by_credential: dict[tuple[uuid.UUID, uuid.UUID], Counter[str]] = {}
    for row in result.all():
        by_credential.setdefault((row.user_id, row.credential_id), Counter())[row.rule_id] += 1
    for (user_id, credential_id), deltas in sorted(by_credential.items()):
        await add_counts_for(session, user_id, credential_id, deltas.items())
    return sum(sum(deltas.values()) for deltas in by_credential.values())
