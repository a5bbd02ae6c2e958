"""The `findingEvents` subscription: your findings as they open, reopen or resolve.

Like `securityEvents`: it wakes on this process's notice after a sync transaction commits
(`FINDING_EVENT_BUS`) and re-reads every `POLL_SECONDS`, so transitions written by a worker in
another process arrive too. Each read takes the caller's findings whose status changed since the
last read (through the owner scope: another user's findings never match). A finding that opens
and resolves between two reads is sent once, in its latest state.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import and_, or_

from core.waits import wait_set
from db import enums as db_enums
from db.models import CloudResourceRow, FindingRow
from graph.context import Info
from graph.findings.columns import FINDING_COLUMNS
from graph.findings.types import Finding
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.permissions import IsAuthenticated
from sync.findings.events import FINDING_EVENT_BUS

POLL_SECONDS = 5.0
# Transitions are stamped before their transaction commits: look this far back for late commits.
COMMIT_LAG = timedelta(seconds=30)
BATCH = 100


@strawberry.enum(description="What happened to a finding.")
class FindingEventKind(Enum):
    OPENED = strawberry.enum_value(
        "OPENED", description="A rule started failing on a resource (or failed again)."
    )
    RESOLVED = strawberry.enum_value(
        "RESOLVED", description="A completed listing showed it passing, or the resource gone."
    )


@strawberry.type(description="A finding that opened or resolved.")
class FindingEvent:
    kind: FindingEventKind = strawberry.field(description="Opened or resolved.")
    at: datetime = strawberry.field(description="When (the sync scope's listing time).")
    finding: Finding = strawberry.field(description="The finding, as it is now.")


async def _changed(
    info: Info, since: datetime, after: tuple[datetime, uuid.UUID] | None
) -> list[Any]:
    """Up to BATCH findings changed since `since`, in (time, id) order after `after`."""
    db = info.context.db
    statement = (
        db.scope.select_columns(FindingRow, *FINDING_COLUMNS, *RESOURCE_COLUMNS)
        .add_columns(FindingRow.status_changed_at.label("f_changed_at"))
        .select_from(FindingRow)
        .join(CloudResourceRow, CloudResourceRow.id == FindingRow.resource_row_id)
        .where(FindingRow.status_changed_at >= since)
        .order_by(FindingRow.status_changed_at, FindingRow.id)
        .limit(BATCH)
    )
    if after is not None:
        statement = statement.where(
            or_(
                FindingRow.status_changed_at > after[0],
                and_(FindingRow.status_changed_at == after[0], FindingRow.id > after[1]),
            )
        )
    async with db.session() as session:
        return list((await (await session.connection()).execute(statement)).all())


def _event(row: Any, costs: bool) -> FindingEvent:
    resolved = row.f_status == db_enums.FindingStatus.RESOLVED.value
    finding = Finding.from_row(row)
    if not costs:
        finding.resource.hide_costs()
    return FindingEvent(
        kind=FindingEventKind.RESOLVED if resolved else FindingEventKind.OPENED,
        at=row.f_changed_at,
        finding=finding,
    )


@strawberry.type
class FindingSubscriptions:
    @strawberry.subscription(
        description="Your findings as they open, reopen or resolve (from the moment you "
        "subscribe).",
        permission_classes=[IsAuthenticated],
    )
    async def finding_events(self, info: Info) -> AsyncGenerator[FindingEvent, None]:
        user = info.context.require_user()
        costs = info.context.runtime.settings.enable_cost_tracking
        since = window_start = datetime.now(UTC)
        sent: dict[tuple[uuid.UUID, datetime], datetime] = {}
        with FINDING_EVENT_BUS.listen(user.id) as woken:
            while True:
                read_at = datetime.now(UTC)
                after: tuple[datetime, uuid.UUID] | None = None
                while True:
                    rows = await _changed(info, window_start, after)
                    for row in rows:
                        key = (row.f_id, row.f_changed_at)
                        if key not in sent:
                            sent[key] = row.f_changed_at
                            yield _event(row, costs)
                    if len(rows) < BATCH:
                        break
                    after = (rows[-1].f_changed_at, rows[-1].f_id)
                window_start = max(since, read_at - COMMIT_LAG)
                sent = {key: at for key, at in sent.items() if at >= window_start}
                await wait_set(woken, POLL_SECONDS)
                woken.clear()
