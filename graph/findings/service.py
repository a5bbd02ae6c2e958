"""What the finding mutations do: check the input, change the finding and its open count in one
transaction through the owner scope, audit.

Domain functions in the one service pattern: typed arguments, an outcome with `Problem`s;
`graph.findings.mutations` maps it to the payload.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.problems import Problem, ProblemCode
from db.audit import Client, record_audit
from db.enums import AuditOutcome, FindingStatus
from db.models import FindingRow
from db.scoping import ScopedDatabase
from graph.errors import BadRequest
from graph.findings.inputs import FindingIdInput, SuppressFindingInput
from graph.node import from_global_id, to_global_id
from sync.findings.lifecycle import add_counts_for

MAX_REASON_CHARS = 500
NOT_FOUND = Problem(("id",), ProblemCode.NOT_FOUND, "No such finding.")


@dataclass(frozen=True, slots=True)
class FindingWriter:
    db: ScopedDatabase
    client: Client


@dataclass
class FindingOutcome:
    finding_id: uuid.UUID | None = None
    problems: list[Problem] = field(default_factory=list)


def _row_id(global_id: str) -> uuid.UUID | None:
    try:
        return from_global_id(global_id, "Finding")[1]
    except BadRequest:
        return None


def _input_problems(given: SuppressFindingInput, now: datetime) -> list[Problem]:
    problems = []
    reason = given.reason.strip()
    if not reason:
        problems.append(Problem(("reason",), ProblemCode.REQUIRED, "Give a reason."))
    elif len(reason) > MAX_REASON_CHARS:
        problems.append(
            Problem(
                ("reason",),
                ProblemCode.TOO_LONG,
                f"The reason is limited to {MAX_REASON_CHARS} characters.",
            )
        )
    until = given.until
    if until is not None and (until.tzinfo is None or until <= now):
        problems.append(
            Problem(("until",), ProblemCode.INVALID, "`until` must be a future time with a zone.")
        )
    return problems


def _audit(writer: FindingWriter, session: object, action: str, finding_id: uuid.UUID) -> None:
    record_audit(
        session,  # type: ignore[arg-type]
        action,
        AuditOutcome.SUCCESS,
        user_id=writer.db.scope.user_id,
        ip=writer.client.ip,
        user_agent=writer.client.user_agent,
        details={"finding_id": to_global_id("Finding", finding_id)},
    )


async def suppress_finding(writer: FindingWriter, given: SuppressFindingInput) -> FindingOutcome:
    now = datetime.now(UTC)
    local_id = _row_id(given.id)
    problems = [] if local_id is not None else [NOT_FOUND]
    problems += _input_problems(given, now)
    if problems or local_id is None or writer.db.scope.user_id is None:
        return FindingOutcome(problems=problems or [NOT_FOUND])
    async with writer.db.session() as session:
        row = await session.scalar(
            writer.db.scope.select(FindingRow).where(FindingRow.id == local_id).with_for_update()
        )
        if row is None:
            return FindingOutcome(problems=[NOT_FOUND])
        if row.status == FindingStatus.RESOLVED:
            return FindingOutcome(
                problems=[
                    Problem(("id",), ProblemCode.INVALID, "A resolved finding is not suppressed.")
                ]
            )
        if row.status == FindingStatus.OPEN:
            await add_counts_for(session, row.user_id, row.credential_id, [(row.rule_id, -1)])
        row.status = FindingStatus.SUPPRESSED
        row.suppressed_reason = given.reason.strip()
        row.suppressed_until = given.until
        row.suppressed_by = writer.db.scope.user_id
        row.suppressed_at = now
        _audit(writer, session, "finding.suppress", row.id)
    return FindingOutcome(finding_id=local_id)


async def unsuppress_finding(writer: FindingWriter, given: FindingIdInput) -> FindingOutcome:
    local_id = _row_id(given.id)
    if local_id is None or writer.db.scope.user_id is None:
        return FindingOutcome(problems=[NOT_FOUND])
    async with writer.db.session() as session:
        row = await session.scalar(
            writer.db.scope.select(FindingRow).where(FindingRow.id == local_id).with_for_update()
        )
        if row is None:
            return FindingOutcome(problems=[NOT_FOUND])
        if row.status != FindingStatus.SUPPRESSED:
            return FindingOutcome(
                problems=[Problem(("id",), ProblemCode.INVALID, "The finding is not suppressed.")]
            )
        await add_counts_for(session, row.user_id, row.credential_id, [(row.rule_id, 1)])
        row.status = FindingStatus.OPEN
        row.suppressed_reason = None
        row.suppressed_until = None
        row.suppressed_by = None
        row.suppressed_at = None
        _audit(writer, session, "finding.unsuppress", row.id)
    return FindingOutcome(finding_id=local_id)
