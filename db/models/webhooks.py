"""Webhooks a user registered, and the log of what was sent to them.

The signing secret is stored only sealed by the vault (bound to owner and row); a delivery keeps
its payload so retries send the same bytes under the same `webhook-id`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin
from db.enums import DeliveryStatus
from db.models.columns import enum_column, owner_column
from db.types import JSONDocument, utcnow


class WebhookRow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "webhooks"
    __table_args__ = (Index(None, "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = owner_column()
    url: Mapped[str] = mapped_column(String(2048))
    # WebhookEvent names the webhook subscribes to.
    events: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    key_id: Mapped[str] = mapped_column(String(32))
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # Deliveries that used up every attempt since the last success; too many disables the hook.
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDeliveryRow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "webhook_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    # The Standard Webhooks `type` of the payload, e.g. "sync.finished".
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # When the next attempt is due (also the lease of an attempt in flight); null once final.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    response_code: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int | None] = mapped_column(default=None)
    error_reason: Mapped[str | None] = mapped_column(String(500), default=None)
