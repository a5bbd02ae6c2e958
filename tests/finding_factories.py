"""Findings written straight to the database, for read-path tests (the engine is tested on its
own): rows shaped like those `sync.findings.lifecycle` writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from db.enums import FindingStatus
from db.models import CloudCredentialRow, FindingRow
from graph.runtime import Runtime
from sync.findings.lifecycle import add_counts_for, digest
from sync.findings.rules import BY_ID, SEVERITY_RANK


def finding_values(
    credential: CloudCredentialRow,
    resource_row_id: uuid.UUID,
    rule_id: str = "aws-ec2-sg-open-ssh",
    **overrides: Any,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    severity = BY_ID[rule_id].severity
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": credential.user_id,
        "credential_id": credential.id,
        "resource_row_id": resource_row_id,
        "rule_id": rule_id,
        "severity": severity,
        "severity_rank": SEVERITY_RANK[severity],
        "status": FindingStatus.OPEN,
        "first_seen_at": now,
        "last_seen_at": now,
        "status_changed_at": now,
        "details": {"rules": [{"ports": [22], "sources": ["0.0.0.0/0"]}]},
    }
    values.update(overrides)
    values["details_digest"] = digest(values["details"])
    return values


async def insert_findings(runtime: Runtime, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert findings and count the OPEN ones, as the engine would."""
    async with runtime.database.system_session() as session:
        if rows:
            await session.execute(insert(FindingRow), list(rows))
        for row in rows:
            if row["status"] == FindingStatus.OPEN:
                await add_counts_for(
                    session, row["user_id"], row["credential_id"], [(row["rule_id"], 1)]
                )
    return [row["id"] for row in rows]
