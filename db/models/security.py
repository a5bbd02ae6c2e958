"""Security events: suspicious activity and security-relevant changes, for their user to see."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin
from db.enums import AuditOutcome, SecurityEventKind, SecurityEventSeverity
from db.models.columns import enum_column, owner_column
from db.types import JSONDocument


class SecurityEventRow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "security_events"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        Index(None, "user_id", "kind", "created_at"),
        Index(None, "created_at"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    kind: Mapped[SecurityEventKind] = mapped_column(enum_column(SecurityEventKind, length=32))
    severity: Mapped[SecurityEventSeverity] = mapped_column(enum_column(SecurityEventSeverity))
    outcome: Mapped[AuditOutcome] = mapped_column(enum_column(AuditOutcome))
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
