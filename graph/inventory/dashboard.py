"""The `dashboard`: inventory totals and breakdowns read from the aggregates the sync write path
keeps (`resource_counts`, `sync.aggregates`), never from the resource rows.

A request costs a handful of small grouped statements over the caller's aggregate rows (one per
credential, scope, type, region, account and status in use), however many resources there are.
The statements and what their rows mean are in `dashboard_totals.py` (the read fast path uses the
same ones); the output types in `dashboard_types.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.scoping import OwnerScope
from graph.accounts.types import AuditEvent
from graph.context import Info
from graph.credentials.types import CloudCredential
from graph.errors import BadRequest
from graph.findings.summary import (
    ComplianceSummary,
    SeverityCount,
    by_severity,
    compliance,
    open_counts,
)
from graph.inventory.dashboard_totals import (
    MAX_ACTIVITY,
    TOP_REGIONS,
    TOP_SERVICES,
    Totals,
    account_statement,
    accounts_of,
    credentials_statement,
    event_entry,
    events_statement,
    job_entry,
    jobs_statement,
    latest,
    monthly,
    provider_statement,
    region_statement,
    regions_of,
    service_statement,
    services_of,
    totals_of,
)
from graph.inventory.dashboard_types import (
    AccountCount,
    ActivityEntry,
    CredentialHealth,
    ProviderBreakdown,
    ProviderCost,
    RegionCount,
    ServiceCost,
)
from graph.sync.types import SyncJob

__all__ = ["Dashboard", "build_dashboard", "dashboard_of"]


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
            events = (await session.scalars(events_statement(self.scope, limit))).all()
            jobs = (await session.scalars(jobs_statement(self.scope, limit))).all()
            entries = [event_entry(e, AuditEvent.from_row(e)) for e in events] + [
                job_entry(j, SyncJob.from_row(j)) for j in jobs
            ]
        return latest(entries, limit)


async def _rows(session: AsyncSession, statement: Any) -> Sequence[Any]:
    return (await (await session.connection()).execute(statement)).all()


def dashboard_of(
    totals: Totals,
    services: list[ServiceCost],
    regions: list[RegionCount],
    accounts: list[AccountCount],
    credentials: list[CloudCredential],
    *,
    cost_tracking: bool,
    scope: OwnerScope,
) -> Dashboard:
    return Dashboard(
        total_resources=totals.resources,
        active_vms=totals.active_vms,
        total_storage=sum(p.storage for p in totals.breakdown),
        total_networks=sum(p.networks for p in totals.breakdown),
        estimated_monthly_cost=monthly(totals.hourly) if cost_tracking else None,
        provider_breakdown=totals.breakdown,
        cost_by_provider=totals.costs if cost_tracking else [],
        cost_by_service=services,
        region_distribution=regions,
        accounts=accounts,
        provider_health=[
            CredentialHealth(credential=credential, health=credential.health)
            for credential in credentials
        ],
        last_updated=totals.last_updated,
        scope=scope,
    )


async def build_dashboard(info: Info) -> Dashboard:
    db_handle = info.context.db
    scope = db_handle.scope
    cost_tracking = info.context.runtime.settings.enable_cost_tracking
    async with db_handle.session() as session:
        totals = totals_of(await _rows(session, provider_statement(scope)))
        services = (
            services_of(await _rows(session, service_statement(scope))) if cost_tracking else []
        )
        regions = regions_of(await _rows(session, region_statement(scope)))
        accounts = accounts_of(await _rows(session, account_statement(scope)))
        credentials = (await session.scalars(credentials_statement(scope))).all()
    return dashboard_of(
        totals,
        services,
        regions,
        accounts,
        [CloudCredential.from_row(row) for row in credentials],
        cost_tracking=cost_tracking,
        scope=scope,
    )
