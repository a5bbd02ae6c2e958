"""GraphQL types of findings and rules: plain attributes built from one joined row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from db import enums as db_enums
from db.models import CloudResourceRow, FindingRow
from graph.connections.types import Connection, Listing, connection
from graph.context import Info
from graph.enums import FindingStatus, Provider, Severity
from graph.findings.columns import FINDING_COLUMNS
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.inventory.types import CloudResource
from graph.node import Node, to_global_id
from sync.findings.rules import BY_ID
from sync.findings.rules import Rule as RuleSpec


@strawberry.type(description="A control of a compliance framework that a rule checks.")
class ComplianceControl:
    framework: str = strawberry.field(description="The framework, e.g. 'CIS AWS Foundations 3.0'.")
    control: str = strawberry.field(description="The control's id in that framework, e.g. '5.2'.")


@strawberry.type(description="A rule of the catalogue, evaluated on every completed sync scope.")
class Rule:
    id: str = strawberry.field(description="Stable id, e.g. aws-ec2-sg-open-ssh.")
    title: str = strawberry.field(description="What fails, in a line.")
    severity: Severity = strawberry.field(description="How bad a failure is.")
    provider: Provider = strawberry.field(description="The cloud it applies to.")
    native_types: list[str] = strawberry.field(
        description="The resource kinds (native types) it is evaluated on."
    )
    description: str = strawberry.field(description="Why it matters and exactly what fails.")
    remediation: str = strawberry.field(description="How to make it pass.")
    references: list[str] = strawberry.field(description="Documentation URLs.")
    compliance: list[ComplianceControl] = strawberry.field(
        description="Compliance controls it maps to."
    )

    @classmethod
    def of(cls, spec: RuleSpec) -> Rule:
        return cls(
            id=spec.id,
            title=spec.title,
            severity=Severity(spec.severity.value),
            provider=Provider(spec.provider.value),
            native_types=list(spec.native_types),
            description=spec.description,
            remediation=spec.remediation,
            references=list(spec.references),
            compliance=[
                ComplianceControl(framework=c.framework, control=c.control) for c in spec.compliance
            ],
        )


# Built once: the catalogue is fixed for the process.
RULE_TYPES: dict[str, Rule] = {rule_id: Rule.of(spec) for rule_id, spec in BY_ID.items()}


@strawberry.type(description="Why and until when a finding is accepted.")
class Suppression:
    reason: str = strawberry.field(description="The owner's reason.")
    until: datetime | None = strawberry.field(
        description="When it lapses (the finding counts as OPEN again); null: never."
    )
    by: strawberry.ID | None = strawberry.field(description="The global ID of the user who set it.")


def effective_status(status: str, until: datetime | None, now: datetime) -> FindingStatus:
    """A suppression whose `until` has passed reads as OPEN, before housekeeping stores it."""
    if status == db_enums.FindingStatus.SUPPRESSED.value and until is not None and until <= now:
        return FindingStatus.OPEN
    return FindingStatus(status)


@strawberry.type(description="A rule failing on a resource, from its first failure on.")
class Finding(Node):
    rule: Rule = strawberry.field(description="The rule that fails.")
    resource: CloudResource = strawberry.field(description="The resource it fails on.")
    status: FindingStatus = strawberry.field(description="Where it is in its lifecycle.")
    first_seen_at: datetime = strawberry.field(description="When the rule first failed.")
    last_seen_at: datetime = strawberry.field(
        description="When a completed listing last showed it failing."
    )
    resolved_at: datetime | None = strawberry.field(
        description="When it resolved; null while it is OPEN or SUPPRESSED."
    )
    suppression: Suppression | None = strawberry.field(
        description="Set while SUPPRESSED (also kept after its `until` has passed)."
    )
    details: JSON = strawberry.field(
        description="What made the rule fail (ports, grants, key ages…), from the resource's "
        "configuration."
    )

    @classmethod
    def from_row(cls, row: Any, resource: CloudResource | None = None) -> Finding:
        """From a row selected with FINDING_COLUMNS (and RESOURCE_COLUMNS unless `resource`)."""
        reason = row.f_suppressed_reason
        suppression = None
        if reason is not None:
            by = row.f_suppressed_by
            suppression = Suppression(
                reason=reason,
                until=row.f_suppressed_until,
                by=to_global_id("User", by) if by else None,
            )
        return cls(
            id=to_global_id("Finding", row.f_id),
            rule=RULE_TYPES[row.f_rule_id],
            resource=resource or CloudResource.from_row(row),
            status=effective_status(row.f_status, row.f_suppressed_until, datetime.now(UTC)),
            first_seen_at=row.f_first_seen_at,
            last_seen_at=row.f_last_seen_at,
            resolved_at=row.f_resolved_at,
            suppression=suppression,
            details=JSON(row.f_details),
        )

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> Finding | None:
        db = info.context.db
        statement = (
            db.scope.select_columns(FindingRow, *FINDING_COLUMNS, *RESOURCE_COLUMNS)
            .select_from(FindingRow)
            .join(CloudResourceRow, CloudResourceRow.id == FindingRow.resource_row_id)
            .where(FindingRow.id == local_id, FindingRow.rule_id.in_(sorted(RULE_TYPES)))
        )
        async with db.session() as session:
            row = (await (await session.connection()).execute(statement)).first()
        if row is None:
            return None
        found = cls.from_row(row)
        if not info.context.runtime.settings.enable_cost_tracking:
            found.resource.hide_costs()
        return found


@connection(
    Finding,
    Listing("Finding", "finding", "findings", "A finding"),
    "A page of findings (Relay cursor connection).",
)
class FindingConnection(Connection[Finding]):
    def costs_shown(self, shown: bool) -> FindingConnection:
        if not shown:
            for edge in self.edges:
                edge.node.resource.hide_costs()
        return self
