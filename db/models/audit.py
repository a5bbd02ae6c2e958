"""Security-relevant events; never a password, token or secret in `details`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin
from db.enums import AuditOutcome
from db.models.columns import enum_column
from db.types import JSONDocument


class AuditEventRow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        Index(None, "created_at"),
        Index(None, "action", "created_at"),
        Index(None, "user_id", "action", "created_at"),
    )

    # Null for events with no known account (a failed log-in for an unknown email).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    # Who acted: the user themselves, an admin acting on them, or null for an anonymous caller.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[AuditOutcome] = mapped_column(enum_column(AuditOutcome))
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
