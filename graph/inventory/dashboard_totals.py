"""The dashboard's statements and what their rows mean: one definition of each number, used by
the `dashboard` resolver and by the read fast path alike.

Every statement reads the caller's aggregate rows (`resource_counts`, kept by the sync write
path), credentials or latest events and jobs through the `OwnerScope` it is given; none reads the
resource rows. The `*_of` functions turn rows (read by position) into the output types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func

from db import enums as db_enums
from db.models import AuditEventRow, CloudCredentialRow, ResourceCountRow, SyncJobRow
from db.scoping import OwnerScope
from graph.enums import Provider
from graph.inventory.dashboard_types import (
    AccountCount,
    ActivityEntry,
    ActivityKind,
    ProviderBreakdown,
    ProviderCost,
    RegionCount,
    ServiceCost,
)
from graph.inventory.types import HOURS_PER_MONTH

TOP_REGIONS = 10
TOP_SERVICES = 20
MAX_ACTIVITY = 50
# Stopped and terminated resources are not billed for compute, so they add nothing to the estimate.
UNBILLED = (db_enums.ResourceStatus.STOPPED, db_enums.ResourceStatus.TERMINATED)
# What a recent-activity entry reads of an audit event and of a sync job.
EVENT_COLUMNS = (AuditEventRow.created_at, AuditEventRow.action, AuditEventRow.outcome)
JOB_COLUMNS = (
    SyncJobRow.status,
    SyncJobRow.added,
    SyncJobRow.updated,
    SyncJobRow.removed,
    SyncJobRow.finished_at,
    SyncJobRow.started_at,
    SyncJobRow.queued_at,
)

_COUNTS = ResourceCountRow
_BILLABLE = _COUNTS.status.not_in(UNBILLED)


def monthly(hourly: Any) -> float:
    return round(float(hourly or 0.0) * HOURS_PER_MONTH, 2)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, _COUNTS.count), else_=0))


def _live(scope: OwnerScope, *columns: Any) -> Select[Any]:
    """Aggregate rows of the caller (a group emptied by a concurrent writer reads as absent)."""
    return scope.select_columns(_COUNTS, *columns).where(_COUNTS.count > 0)


def provider_statement(scope: OwnerScope) -> Select[Any]:
    billable = func.sum(case((_BILLABLE & (_COUNTS.priced > 0), _COUNTS.cost_per_hour)))
    return (
        _live(
            scope,
            _COUNTS.provider,
            func.sum(_COUNTS.count),
            _count_if(_COUNTS.type == db_enums.ResourceType.VM),
            _count_if(_COUNTS.type == db_enums.ResourceType.STORAGE),
            _count_if(_COUNTS.type == db_enums.ResourceType.NETWORK),
            _count_if(
                (_COUNTS.type == db_enums.ResourceType.VM)
                & (_COUNTS.status == db_enums.ResourceStatus.RUNNING)
            ),
            billable,
            func.max(_COUNTS.last_synced_at),
        )
        .group_by(_COUNTS.provider)
        .order_by(_COUNTS.provider)
    )


def service_statement(scope: OwnerScope) -> Select[Any]:
    total = func.sum(_COUNTS.cost_per_hour)
    return (
        _live(scope, _COUNTS.native_type, total)
        .where(_COUNTS.priced > 0, _BILLABLE)
        .group_by(_COUNTS.native_type)
        .order_by(total.desc(), _COUNTS.native_type)
        .limit(TOP_SERVICES)
    )


def region_statement(scope: OwnerScope) -> Select[Any]:
    count = func.sum(_COUNTS.count)
    return (
        _live(scope, _COUNTS.region, count)
        .group_by(_COUNTS.region)
        .order_by(count.desc(), _COUNTS.region)
        .limit(TOP_REGIONS)
    )


def account_statement(scope: OwnerScope) -> Select[Any]:
    count = func.sum(_COUNTS.count)
    return (
        _live(scope, _COUNTS.account, _COUNTS.provider, count)
        .group_by(_COUNTS.account, _COUNTS.provider)
        .order_by(count.desc(), _COUNTS.account, _COUNTS.provider)
    )


def credentials_statement(scope: OwnerScope, *columns: Any) -> Select[Any]:
    """The caller's credentials by name (names are unique per owner); whole rows by default."""
    return scope.select_columns(CloudCredentialRow, *(columns or (CloudCredentialRow,))).order_by(
        CloudCredentialRow.name
    )


def events_statement(scope: OwnerScope, limit: Any, *columns: Any) -> Select[Any]:
    return (
        scope.select_columns(AuditEventRow, *(columns or (AuditEventRow,)))
        .order_by(AuditEventRow.created_at.desc(), AuditEventRow.id.desc())
        .limit(limit)
    )


def jobs_statement(scope: OwnerScope, limit: Any, *columns: Any) -> Select[Any]:
    return (
        scope.select_columns(SyncJobRow, *(columns or (SyncJobRow,)))
        .order_by(SyncJobRow.queued_at.desc(), SyncJobRow.id.desc())
        .limit(limit)
    )


@dataclass
class Totals:
    breakdown: list[ProviderBreakdown]
    costs: list[ProviderCost]
    active_vms: int
    hourly: float
    last_updated: datetime | None

    @property
    def resources(self) -> int:
        return sum(p.count for p in self.breakdown)


def totals_of(rows: Sequence[Sequence[Any]]) -> Totals:
    moments = [row[7] for row in rows if row[7] is not None]
    costs = [ProviderCost(provider=Provider(row[0].value), cost=monthly(row[6])) for row in rows]
    return Totals(
        breakdown=[
            ProviderBreakdown(
                provider=Provider(row[0].value),
                count=int(row[1]),
                vms=int(row[2] or 0),
                storage=int(row[3] or 0),
                networks=int(row[4] or 0),
            )
            for row in rows
        ],
        costs=sorted(costs, key=lambda c: (-c.cost, c.provider.value)),
        active_vms=sum(int(row[5] or 0) for row in rows),
        hourly=sum(float(row[6] or 0.0) for row in rows),
        last_updated=max(moments) if moments else None,
    )


def services_of(rows: Sequence[Sequence[Any]]) -> list[ServiceCost]:
    return [ServiceCost(service=row[0], cost=monthly(row[1])) for row in rows]


def regions_of(rows: Sequence[Sequence[Any]]) -> list[RegionCount]:
    return [RegionCount(region=row[0], count=int(row[1])) for row in rows]


def accounts_of(rows: Sequence[Sequence[Any]]) -> list[AccountCount]:
    return [
        AccountCount(account=row[0], provider=Provider(row[1].value), count=int(row[2]))
        for row in rows
    ]


def event_entry(row: Any, audit_event: Any = None) -> ActivityEntry:
    """An entry from `EVENT_COLUMNS` (by attribute); `audit_event` is the full event, when
    the selection asks for it."""
    return ActivityEntry(
        kind=ActivityKind.AUDIT_EVENT,
        at=row.created_at,
        summary=f"{row.action}: {row.outcome.value}",
        audit_event=audit_event,
        sync_job=None,
    )


def job_entry(row: Any, sync_job: Any = None) -> ActivityEntry:
    """An entry from `JOB_COLUMNS` (by attribute); `sync_job` likewise."""
    summary = f"sync {row.status.value}"
    if row.status not in db_enums.ACTIVE_JOB_STATUSES:
        summary += f": {row.added} added, {row.updated} updated, {row.removed} removed"
    return ActivityEntry(
        kind=ActivityKind.SYNC_JOB,
        at=row.finished_at or row.started_at or row.queued_at,
        summary=summary,
        audit_event=None,
        sync_job=sync_job,
    )


def latest(entries: list[ActivityEntry], limit: int) -> list[ActivityEntry]:
    """Events first, then jobs, each newest first: the newest `limit` of both (a stable sort,
    so equal instants keep that order)."""
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
