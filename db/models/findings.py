"""Findings: a rule failing on a resource, with its lifecycle, and the open counts per rule.

A finding is keyed by (resource row, rule): it stays one row while the rule keeps failing,
resolves when a completed scope shows it passing (or the resource gone) and reopens when it fails
again. `finding_counts` holds, per credential and rule, how many findings are OPEN; it is
maintained in the same transactions as the findings, so the dashboard reads a few rows whatever
the inventory's size.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin
from db.enums import FindingStatus, Severity
from db.models.columns import enum_column, owner_column
from db.types import JSONDocument, utcnow


class FindingRow(IdMixin, Base):
    """A stored `Finding`."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("resource_row_id", "rule_id"),
        Index(None, "user_id", "last_seen_at", "id"),
        Index(None, "user_id", "severity_rank", "id"),
        Index(None, "user_id", "status_changed_at"),
        Index(None, "credential_id", "rule_id"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    resource_row_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE")
    )
    rule_id: Mapped[str] = mapped_column(String(64))
    # Copied from the catalogue when the finding opens, so filters and order need no join.
    severity: Mapped[Severity] = mapped_column(enum_column(Severity))
    # 0 for CRITICAL … 4 for INFO: the order of `orderBy: {field: SEVERITY}`.
    severity_rank: Mapped[int] = mapped_column()
    status: Mapped[FindingStatus] = mapped_column(enum_column(FindingStatus))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the finding last opened, resolved or reopened (what `findingEvents` follows).
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What made the rule fail (ports, grants, ages); values from the normalized configuration.
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # A digest of `details` (canonical JSON): the engine compares it, never decoding details.
    details_digest: Mapped[str] = mapped_column(String(64), default="")
    suppressed_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    suppressed_until: Mapped[datetime | None] = mapped_column(default=None)
    suppressed_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    suppressed_at: Mapped[datetime | None] = mapped_column(default=None)


class FindingCountRow(IdMixin, Base):
    """How many findings of one rule are OPEN for one credential."""

    __tablename__ = "finding_counts"
    __table_args__ = (UniqueConstraint("credential_id", "rule_id"), Index(None, "user_id"))

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    rule_id: Mapped[str] = mapped_column(String(64))
    open_count: Mapped[int] = mapped_column(default=0)
