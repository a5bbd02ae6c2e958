"""The `dashboard`: inventory totals and breakdowns read from the aggregates the sync write path
keeps (`resource_counts`, `sync.aggregates`), never from the resource rows.

A request costs a handful of small grouped statements over the caller's aggregate rows (one per
credential, scope, type, region, account and status in use), however many resources there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, case, func
from sqlalchemy.ext.asyncio import AsyncSession

from db import enums as db_enums
from db.models import AuditEventRow, CloudCredentialRow, ResourceCountRow, SyncJobRow
from db.scoping import OwnerScope
from graph.accounts.types import AuditEvent
from graph.context import Info
from graph.credentials.types import CloudCredential, ProviderHealth
from graph.enums import Provider
from graph.errors import BadRequest
from graph.findings.summary import (
    ComplianceSummary,
    SeverityCount,
    by_severity,
    compliance,
    open_counts,
)
from graph.inventory.types import HOURS_PER_MONTH
from graph.sync.types import SyncJob

TOP_REGIONS = 10
TOP_SERVICES = 20
MAX_ACTIVITY = 50
# Stopped and terminated resources are not billed for compute, so they add nothing to the estimate.
UNBILLED = (db_enums.ResourceStatus.STOPPED, db_enums.ResourceStatus.TERMINATED)


@strawberry.type(description="Resource counts of one cloud.")
class ProviderBreakdown:
    provider: Provider = strawberry.field(description="The cloud.")
    count: int = strawberry.field(description="Resources in it (not deleted).")
    vms: int = strawberry.field(description="Virtual machines.")
    storage: int = strawberry.field(description="Storage resources.")
    networks: int = strawberry.field(description="Network resources.")


@strawberry.type(description="Estimated monthly cost of one cloud.")
class ProviderCost:
    provider: Provider = strawberry.field(description="The cloud.")
    cost: float = strawberry.field(description="Estimated USD per month.")


@strawberry.type(description="Estimated monthly cost of one service (the provider's native type).")
class ServiceCost:
    service: str = strawberry.field(description="Native type, e.g. AWS::EC2::Instance.")
    cost: float = strawberry.field(description="Estimated USD per month.")


@strawberry.type(description="How many resources one region holds.")
class RegionCount:
    region: str = strawberry.field(description="Region or location ('global' when none).")
    count: int = strawberry.field(description="Resources in it (not deleted).")


@strawberry.type(description="How many resources one cloud account holds.")
class AccountCount:
    account: str = strawberry.field(
        description="AWS account id, Azure subscription id or GCP project id."
    )
    provider: Provider = strawberry.field(description="Its cloud.")
    count: int = strawberry.field(description="Resources in it (not deleted).")


@strawberry.type(description="The last identity check of one credential.")
class CredentialHealth:
    credential: CloudCredential = strawberry.field(description="The credential.")
    health: ProviderHealth = strawberry.field(description="Its last check.")


@strawberry.enum(description="What a recent-activity entry is about.")
class ActivityKind(Enum):
    AUDIT_EVENT = strawberry.enum_value("AUDIT_EVENT", description="A security-relevant action.")
    SYNC_JOB = strawberry.enum_value("SYNC_JOB", description="A sync job (queued, ran or ended).")


@strawberry.type(description="One entry of the recent-activity feed: an audit event or a sync job.")
class ActivityEntry:
    kind: ActivityKind = strawberry.field(description="Which of the two it is.")
    at: datetime = strawberry.field(
        description="When it happened (an event's time; a job's end, start or queue time)."
    )
    summary: str = strawberry.field(description="One line for a feed, e.g. 'login: SUCCESS'.")
    audit_event: AuditEvent | None = strawberry.field(description="The event, for AUDIT_EVENT.")
    sync_job: SyncJob | None = strawberry.field(description="The job, for SYNC_JOB.")


@strawberry.type(description="An overview of your inventory, from totals kept by the syncs.")
class Dashboard:
    total_resources: int = strawberry.field(description="Resources (not deleted).")
    active_vms: int = strawberry.field(description="Virtual machines that are RUNNING.")
    total_storage: int = strawberry.field(description="Storage resources.")
    total_networks: int = strawberry.field(description="Network resources.")
    estimated_monthly_cost: float | None = strawberry.field(
        description="USD per month of resources with a known price that are not stopped or "
        "terminated; null when cost tracking is disabled."
    )
    provider_breakdown: list[ProviderBreakdown] = strawberry.field(description="Counts per cloud.")
    cost_by_provider: list[ProviderCost] = strawberry.field(
        description="Monthly cost per cloud, highest first; empty when cost tracking is disabled."
    )
    cost_by_service: list[ServiceCost] = strawberry.field(
        description=f"The {TOP_SERVICES} most expensive services, highest first; empty when cost "
        "tracking is disabled."
    )
    region_distribution: list[RegionCount] = strawberry.field(
        description=f"The {TOP_REGIONS} regions with the most resources, largest first."
    )
    accounts: list[AccountCount] = strawberry.field(
        description="Resources per cloud account (AWS account, Azure subscription, GCP "
        "project), largest first."
    )
    provider_health: list[CredentialHealth] = strawberry.field(
        description="The last check of each of your credentials, by name."
    )
    last_updated: datetime | None = strawberry.field(
        description="When a sync last saw any of your resources; null before the first sync."
    )
    scope: strawberry.Private[OwnerScope]

    @strawberry.field(
        description="Your OPEN findings per severity (every severity, zeros included; from "
        "maintained counts, so as cheap for a large inventory as for a small one)."
    )
    async def findings_by_severity(self, info: Info) -> list[SeverityCount]:
        return by_severity(await open_counts(info.context.db, self.scope))

    @strawberry.field(
        description="Per compliance framework of the rule catalogue: how many of its controls "
        "have no OPEN finding (passed) and how many have at least one (failed)."
    )
    async def compliance_summary(self, info: Info) -> list[ComplianceSummary]:
        return compliance(await open_counts(info.context.db, self.scope))

    @strawberry.field(description="Your latest audit events and sync jobs, newest first.")
    async def recent_activity(
        self,
        info: Info,
        limit: Annotated[
            int, strawberry.argument(description=f"How many entries (1–{MAX_ACTIVITY}).")
        ] = 10,
    ) -> list[ActivityEntry]:
        if not 1 <= limit <= MAX_ACTIVITY:
            raise BadRequest(f"`limit` must be between 1 and {MAX_ACTIVITY}")
        async with info.context.db.session() as session:
            events = (
                await session.scalars(
                    self.scope.select(AuditEventRow)
                    .order_by(AuditEventRow.created_at.desc(), AuditEventRow.id.desc())
                    .limit(limit)
                )
            ).all()
            jobs = (
                await session.scalars(
                    self.scope.select(SyncJobRow)
                    .order_by(SyncJobRow.queued_at.desc(), SyncJobRow.id.desc())
                    .limit(limit)
                )
            ).all()
            entries = [_event_entry(e) for e in events] + [_job_entry(j) for j in jobs]
        entries.sort(key=lambda entry: entry.at, reverse=True)
        return entries[:limit]


def _event_entry(row: AuditEventRow) -> ActivityEntry:
    return ActivityEntry(
        kind=ActivityKind.AUDIT_EVENT,
        at=row.created_at,
        summary=f"{row.action}: {row.outcome.value}",
        audit_event=AuditEvent.from_row(row),
        sync_job=None,
    )


def _job_entry(row: SyncJobRow) -> ActivityEntry:
    summary = f"sync {row.status.value}"
    if row.status not in db_enums.ACTIVE_JOB_STATUSES:
        summary += f": {row.added} added, {row.updated} updated, {row.removed} removed"
    return ActivityEntry(
        kind=ActivityKind.SYNC_JOB,
        at=row.finished_at or row.started_at or row.queued_at,
        summary=summary,
        audit_event=None,
        sync_job=SyncJob.from_row(row),
    )


def _monthly(hourly: Any) -> float:
    return round(float(hourly or 0.0) * HOURS_PER_MONTH, 2)


_COUNTS = ResourceCountRow
_BILLABLE = _COUNTS.status.not_in(UNBILLED)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, _COUNTS.count), else_=0))


def _live(scope: OwnerScope, *columns: Any) -> Any:
    """Aggregate rows of the caller (a group emptied by a concurrent writer reads as absent)."""
    return scope.select_columns(_COUNTS, *columns).where(_COUNTS.count > 0)


@dataclass
class _Totals:
    breakdown: list[ProviderBreakdown]
    costs: list[ProviderCost]
    active_vms: int
    hourly: float
    last_updated: datetime | None


async def _per_provider(session: AsyncSession, scope: OwnerScope) -> _Totals:
    billable = func.sum(case((_BILLABLE & (_COUNTS.priced > 0), _COUNTS.cost_per_hour)))
    statement = (
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
    rows = (await (await session.connection()).execute(statement)).all()
    moments = [row[7] for row in rows if row[7] is not None]
    costs = [ProviderCost(provider=Provider(row[0].value), cost=_monthly(row[6])) for row in rows]
    return _Totals(
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


async def _per_service(session: AsyncSession, scope: OwnerScope) -> list[ServiceCost]:
    total = func.sum(_COUNTS.cost_per_hour)
    statement = (
        _live(scope, _COUNTS.native_type, total)
        .where(_COUNTS.priced > 0, _BILLABLE)
        .group_by(_COUNTS.native_type)
        .order_by(total.desc(), _COUNTS.native_type)
        .limit(TOP_SERVICES)
    )
    rows = (await (await session.connection()).execute(statement)).all()
    return [ServiceCost(service=row[0], cost=_monthly(row[1])) for row in rows]


async def _per_region(session: AsyncSession, scope: OwnerScope) -> list[RegionCount]:
    count = func.sum(_COUNTS.count)
    statement = (
        _live(scope, _COUNTS.region, count)
        .group_by(_COUNTS.region)
        .order_by(count.desc(), _COUNTS.region)
        .limit(TOP_REGIONS)
    )
    rows = (await (await session.connection()).execute(statement)).all()
    return [RegionCount(region=row[0], count=int(row[1])) for row in rows]


async def _per_account(session: AsyncSession, scope: OwnerScope) -> list[AccountCount]:
    count = func.sum(_COUNTS.count)
    statement = (
        _live(scope, _COUNTS.account, _COUNTS.provider, count)
        .group_by(_COUNTS.account, _COUNTS.provider)
        .order_by(count.desc(), _COUNTS.account, _COUNTS.provider)
    )
    rows = (await (await session.connection()).execute(statement)).all()
    return [
        AccountCount(account=row[0], provider=Provider(row[1].value), count=int(row[2]))
        for row in rows
    ]


async def build_dashboard(info: Info) -> Dashboard:
    db_handle = info.context.db
    scope = db_handle.scope
    cost_tracking = info.context.runtime.settings.enable_cost_tracking
    async with db_handle.session() as session:
        totals = await _per_provider(session, scope)
        services = await _per_service(session, scope) if cost_tracking else []
        regions = await _per_region(session, scope)
        accounts = await _per_account(session, scope)
        credentials = (
            await session.scalars(
                scope.select(CloudCredentialRow).order_by(CloudCredentialRow.name)
            )
        ).all()
    health = []
    for row in credentials:
        credential = CloudCredential.from_row(row)
        health.append(CredentialHealth(credential=credential, health=credential.health))
    return Dashboard(
        total_resources=sum(p.count for p in totals.breakdown),
        active_vms=totals.active_vms,
        total_storage=sum(p.storage for p in totals.breakdown),
        total_networks=sum(p.networks for p in totals.breakdown),
        estimated_monthly_cost=_monthly(totals.hourly) if cost_tracking else None,
        provider_breakdown=totals.breakdown,
        cost_by_provider=totals.costs if cost_tracking else [],
        cost_by_service=services,
        region_distribution=regions,
        accounts=accounts,
        provider_health=health,
        last_updated=totals.last_updated,
        scope=scope,
    )
