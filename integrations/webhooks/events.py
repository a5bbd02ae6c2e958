"""Queueing events: one delivery row per subscribed, enabled webhook of the event's owner, in
the caller's transaction (an event is queued exactly when the change that causes it commits)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import DeliveryStatus, WebhookEvent
from db.ids import new_id
from db.models import WebhookDeliveryRow, WebhookRow
from db.scoping import OwnerScope
from db.types import utcnow

# The Standard Webhooks `type` of each event's payload.
EVENT_TYPES = {
    WebhookEvent.SYNC_FINISHED: "sync.finished",
    WebhookEvent.FINDING_OPENED: "finding.opened",
    WebhookEvent.FINDING_RESOLVED: "finding.resolved",
    WebhookEvent.SECURITY_EVENT: "security.event",
}
TEST_EVENT_TYPE = "webhook.test"


def payload(event_type: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The specification's envelope: `type`, `timestamp`, `data`."""
    return {"type": event_type, "timestamp": at.isoformat(), "data": data}


async def enqueue_event(
    session: AsyncSession,
    user_id: uuid.UUID,
    event: WebhookEvent,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
) -> int:
    """Queue `event` for every enabled webhook of `user_id` subscribed to it; returns how many."""
    at = now or utcnow()
    statement = OwnerScope(user_id).select_columns(WebhookRow, WebhookRow.id, WebhookRow.events)
    hooks = (await session.execute(statement.where(WebhookRow.enabled.is_(True)))).all()
    wanted = [hook.id for hook in hooks if event.value in (hook.events or [])]
    if not wanted:
        return 0
    body = payload(EVENT_TYPES[event], data, at)
    rows = [
        {
            "id": new_id(),
            "user_id": user_id,
            "webhook_id": webhook_id,
            "event_type": body["type"],
            "payload": body,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for webhook_id in wanted
    ]
    await session.execute(insert(WebhookDeliveryRow), rows)
    return len(rows)
