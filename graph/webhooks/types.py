"""GraphQL types of webhooks and their delivery log (never the signing secret)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from db import enums as db_enums
from db.models import WebhookDeliveryRow, WebhookRow
from graph.connections.keyset import PageRequest, make_page
from graph.connections.types import (
    AfterArg,
    Connection,
    FirstArg,
    Listing,
    binding,
    codec,
    connection,
    decode_start,
)
from graph.context import Info
from graph.node import Node, to_global_id
from graph.webhooks.loaders import (
    DELIVERY_ORDERING,
    DeliveryPageKey,
    delivery_counts,
    delivery_pages,
)


@strawberry.enum(description="What a webhook can subscribe to.")
class WebhookEvent(Enum):
    SYNC_FINISHED = strawberry.enum_value(
        "SYNC_FINISHED", description="A sync job ended (succeeded, partial or failed)."
    )
    FINDING_OPENED = strawberry.enum_value(
        "FINDING_OPENED", description="A finding was opened (emitted once findings exist)."
    )
    FINDING_RESOLVED = strawberry.enum_value(
        "FINDING_RESOLVED", description="A finding was resolved (emitted once findings exist)."
    )
    SECURITY_EVENT = strawberry.enum_value(
        "SECURITY_EVENT",
        description="Refresh-token reuse, a password change, or a burst of failed log-ins.",
    )


@strawberry.enum(description="Where a delivery is in its life.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Waiting for its next attempt.")
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="The receiver answered 2xx.")
    FAILED = strawberry.enum_value(
        "FAILED", description="Every attempt failed, or the destination was refused."
    )


@strawberry.type(description="One event sent (or to be sent) to a webhook, and how it went.")
class WebhookDelivery(Node):
    event_type: str = strawberry.field(
        description="The payload's `type`, e.g. `sync.finished` or `webhook.test`."
    )
    status: WebhookDeliveryStatus = strawberry.field(description="Where the delivery is.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    response_code: int | None = strawberry.field(
        description="HTTP status of the last attempt; null when no response came."
    )
    latency_ms: int | None = strawberry.field(
        description="Milliseconds the last attempt took, until the receiver's answer."
    )
    error_reason: str | None = strawberry.field(
        description="Why the last attempt failed; null after a success."
    )
    created_at: datetime = strawberry.field(description="When the event was queued.")
    last_attempt_at: datetime | None = strawberry.field(description="When it was last tried.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next; null once it succeeded or failed for good."
    )

    @classmethod
    def from_row(cls, row: Any) -> WebhookDelivery:
        pending = row.status == db_enums.DeliveryStatus.PENDING
        return cls(
            id=to_global_id("WebhookDelivery", row.id),
            event_type=row.event_type,
            status=WebhookDeliveryStatus(row.status.value),
            attempts=row.attempts,
            response_code=row.response_code,
            latency_ms=row.latency_ms,
            error_reason=row.error_reason,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at if pending else None,
        )

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> WebhookDelivery | None:
        db = info.context.db
        statement = db.scope.select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == local_id)
        async with db.session() as session:
            row = await session.scalar(statement)
        return cls.from_row(row) if row else None


@connection(
    WebhookDelivery,
    Listing("WebhookDelivery", "delivery", "deliveries", "A delivery"),
    "A page of deliveries, newest first (Relay cursor connection).",
)
class WebhookDeliveryConnection(Connection[WebhookDelivery]):
    pass


@strawberry.type(description="An HTTPS endpoint that receives signed events (Standard Webhooks).")
class Webhook(Node):
    url: str = strawberry.field(description="Where events are POSTed.")
    events: list[WebhookEvent] = strawberry.field(description="The events it receives.")
    description: str | None = strawberry.field(description="Your note about it.")
    enabled: bool = strawberry.field(
        description="False when you turned it off or it was disabled after failing for long."
    )
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled automatically; null otherwise."
    )
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    webhook_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="What was sent to it, newest first.")
    async def deliveries(
        self, info: Info, first: FirstArg = None, after: AfterArg = None
    ) -> WebhookDeliveryConnection:
        request = PageRequest.from_args(first=first, after=after)
        bound_to = binding(info, DELIVERY_ORDERING, str(self.id))
        start = decode_start(info, DELIVERY_ORDERING, request, bound_to)
        loaders = info.context.loaders
        key = DeliveryPageKey(self.webhook_id, request.size, start)
        rows = await loaders.get(delivery_pages).load(key)
        page = make_page(rows, DELIVERY_ORDERING, request, codec(info), bound_to)

        async def count() -> int:
            return await loaders.get(delivery_counts).load(self.webhook_id)

        return WebhookDeliveryConnection.from_page(page, count)

    @classmethod
    def from_row(cls, row: WebhookRow) -> Webhook:
        known = set(WebhookEvent.__members__)
        return cls(
            id=to_global_id("Webhook", row.id),
            url=row.url,
            events=[WebhookEvent[e] for e in row.events if e in known],
            description=row.description,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
            webhook_id=row.id,
        )

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> Webhook | None:
        db = info.context.db
        async with db.session() as session:
            row = await session.scalar(db.scope.select(WebhookRow).where(WebhookRow.id == local_id))
        return cls.from_row(row) if row else None
