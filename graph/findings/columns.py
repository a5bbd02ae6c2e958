"""The finding columns read paths select beside the resource's (labelled apart from them)."""

from __future__ import annotations

from db.models import FindingRow

FINDING_COLUMNS = (
    FindingRow.id.label("f_id"),
    FindingRow.rule_id.label("f_rule_id"),
    FindingRow.status.label("f_status"),
    FindingRow.first_seen_at.label("f_first_seen_at"),
    FindingRow.last_seen_at.label("f_last_seen_at"),
    FindingRow.resolved_at.label("f_resolved_at"),
    FindingRow.severity_rank.label("f_severity_rank"),
    FindingRow.details.label("f_details"),
    FindingRow.suppressed_reason.label("f_suppressed_reason"),
    FindingRow.suppressed_until.label("f_suppressed_until"),
    FindingRow.suppressed_by.label("f_suppressed_by"),
    FindingRow.resource_row_id.label("f_resource_row_id"),
)
