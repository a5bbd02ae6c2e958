"""The dashboard's findings figures, from `finding_counts` (a row per credential and rule), so
they cost the same whatever the size of the inventory.

- `findingsBySeverity`: OPEN findings per severity (every severity listed, zeros included).
  SUPPRESSED and RESOLVED findings are not counted; a suppression whose `until` has passed counts
  again once housekeeping reopens it.
- `complianceSummary`, per framework of the catalogue: a control *fails* when at least one rule
  mapped to it has an OPEN finding on any of your resources; it *passes* otherwise (including
  when none of your resources is of a kind its rules check). `passed + failed` is the number of
  the framework's controls the catalogue maps.
"""

from __future__ import annotations

from collections import Counter

import strawberry
from sqlalchemy import func

from db import enums as db_enums
from db.models import FindingCountRow
from db.scoping import OwnerScope, ScopedDatabase
from graph.enums import Severity
from sync.findings.rules import BY_ID, FRAMEWORKS


@strawberry.type(description="How many OPEN findings have one severity.")
class SeverityCount:
    severity: Severity = strawberry.field(description="The severity.")
    count: int = strawberry.field(description="OPEN findings of that severity.")


@strawberry.type(description="How the controls of one compliance framework fare.")
class ComplianceSummary:
    framework: str = strawberry.field(description="The framework, e.g. 'CIS AWS Foundations 3.0'.")
    passed: int = strawberry.field(
        description="Its controls (mapped by the catalogue) with no OPEN finding."
    )
    failed: int = strawberry.field(
        description="Its controls with at least one OPEN finding of a rule mapped to them."
    )


async def open_counts(db: ScopedDatabase, scope: OwnerScope) -> Counter[str]:
    """OPEN findings per rule over the caller's credentials."""
    statement = scope.select_columns(
        FindingCountRow, FindingCountRow.rule_id, func.sum(FindingCountRow.open_count)
    ).group_by(FindingCountRow.rule_id)
    async with db.session() as session:
        rows = (await session.execute(statement)).all()
    return Counter({rule_id: int(total or 0) for rule_id, total in rows if rule_id in BY_ID})


def by_severity(counts: Counter[str]) -> list[SeverityCount]:
    totals: Counter[str] = Counter()
    for rule_id, count in counts.items():
        totals[BY_ID[rule_id].severity.value] += count
    return [
        SeverityCount(severity=Severity(s.value), count=max(totals[s.value], 0))
        for s in db_enums.Severity
    ]


def compliance(counts: Counter[str]) -> list[ComplianceSummary]:
    failing: dict[str, set[str]] = {framework: set() for framework in FRAMEWORKS}
    for rule_id, count in counts.items():
        if count > 0:
            for control in BY_ID[rule_id].compliance:
                failing[control.framework].add(control.control)
    return [
        ComplianceSummary(
            framework=framework,
            passed=len(controls) - len(failing[framework]),
            failed=len(failing[framework]),
        )
        for framework, controls in FRAMEWORKS.items()
    ]
