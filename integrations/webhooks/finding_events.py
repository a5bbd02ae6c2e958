"""`FINDING_OPENED` / `FINDING_RESOLVED`: queued by the findings engine in the transaction that
opens, reopens or resolves the findings (an event is queued exactly when the change commits).

One read of the owner's webhooks per transaction; the findings are read (with their resources)
only when a webhook wants them, and every delivery is inserted in one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import DeliveryStatus, WebhookEvent
from db.ids import new_id
from db.models import CloudResourceRow, FindingRow, WebhookDeliveryRow, WebhookRow
from db.scoping import OwnerScope
from integrations.webhooks.events import EVENT_TYPES, payload
from integrations.webhooks.sync_events import global_id


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def finding_data(row: Any) -> dict[str, Any]:
    """The `data.finding` of a finding event (ids are GraphQL global ids)."""
    return {
        "finding": {
            "id": global_id("Finding", row.id),
            "ruleId": row.rule_id,
            "severity": row.severity.value,
            "status": row.status.value,
            "firstSeenAt": _time(row.first_seen_at),
            "lastSeenAt": _time(row.last_seen_at),
            "resolvedAt": _time(row.resolved_at),
            "resource": {
                "id": global_id("CloudResource", row.resource_row_id),
                "resourceId": row.resource_id,
                "name": row.name,
                "nativeType": row.native_type,
                "account": row.account,
                "region": row.region,
            },
            "credentialId": global_id("CloudCredential", row.credential_id),
        }
    }


async def finding_events(
    session: AsyncSession,
    user_id: uuid.UUID,
    opened: Sequence[uuid.UUID],
    resolved: Sequence[uuid.UUID],
    at: datetime,
) -> int:
    """Queue the events of these transitions for the owner's subscribed webhooks."""
    hooks = (
        await session.execute(
            OwnerScope(user_id)
            .select_columns(WebhookRow, WebhookRow.id, WebhookRow.events)
            .where(WebhookRow.enabled.is_(True))
        )
    ).all()
    wanted = {
        event: [hook.id for hook in hooks if event.value in (hook.events or [])]
        for event in (WebhookEvent.FINDING_OPENED, WebhookEvent.FINDING_RESOLVED)
    }
    ids = {WebhookEvent.FINDING_OPENED: opened, WebhookEvent.FINDING_RESOLVED: resolved}
    needed = {i for event, hook_ids in wanted.items() if hook_ids for i in ids[event]}
    if not needed:
        return 0
    statement = (
        OwnerScope(user_id)
        .select_columns(
            FindingRow,
            FindingRow.id,
            FindingRow.rule_id,
            FindingRow.severity,
            FindingRow.status,
            FindingRow.first_seen_at,
            FindingRow.last_seen_at,
            FindingRow.resolved_at,
            FindingRow.resource_row_id,
            FindingRow.credential_id,
            CloudResourceRow.resource_id,
            CloudResourceRow.name,
            CloudResourceRow.native_type,
            CloudResourceRow.account,
            CloudResourceRow.region,
        )
        .select_from(FindingRow)
        .join(CloudResourceRow, CloudResourceRow.id == FindingRow.resource_row_id)
        .where(FindingRow.id.in_(sorted(needed)))
    )
    found = {row.id: row for row in (await session.execute(statement)).all()}
    rows: list[dict[str, Any]] = []
    for event, hook_ids in wanted.items():
        for finding_id in ids[event]:
            if finding_id not in found:
                continue
            body = payload(EVENT_TYPES[event], finding_data(found[finding_id]), at)
            rows.extend(
                {
                    "id": new_id(),
                    "user_id": user_id,
                    "webhook_id": hook_id,
                    "event_type": body["type"],
                    "payload": body,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
                for hook_id in hook_ids
            )
    if rows:
        await session.execute(insert(WebhookDeliveryRow), rows)
    return len(rows)
