"""What syncs changed in the inventory: one row per resource and sync that changed it.

Written by the sync in the transaction of the upsert or stale marking it describes
(sync/history.py), so the history never tells of a change the inventory did not commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin
from db.enums import ResourceChangeKind, ResourceType
from db.models.columns import enum_column, owner_column
from db.types import JSONDocument


class ResourceChangeRow(IdMixin, Base):
    """A stored `ResourceChange`."""

    __tablename__ = "resource_changes"
    __table_args__ = (
        # The feed (`inventoryChanges`), newest first, and the same per credential.
        Index(None, "user_id", "at", "id"),
        Index(None, "credential_id", "at", "id"),
        # One resource's history, newest first (also what a resource's purge updates).
        Index(None, "resource_row_id", "at", "id"),
        # Retention deletes by age across every owner.
        Index(None, "at"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    # The inventory row it happened to; null once that row is purged (the record stays until
    # HISTORY_RETENTION_DAYS).
    resource_row_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"), default=None
    )
    # The provider's id (`resources.resource_id`) and category, kept for the record's lifetime.
    resource_id: Mapped[str] = mapped_column(String(512))
    type: Mapped[ResourceType] = mapped_column(enum_column(ResourceType))
    kind: Mapped[ResourceChangeKind] = mapped_column(enum_column(ResourceChangeKind))
    at: Mapped[datetime]
    # The sync job that saw it. No foreign key: a record outlives its job, and deleting jobs
    # must not scan the history.
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # [{"field": "tags.env", "before": "dev", "after": "prod"}, …]: only what changed.
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
