"""The one generic inventory table; typed views are GraphQL filters, not tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin
from db.enums import Provider, ResourceStatus, ResourceType
from db.models.columns import enum_column, owner_column
from db.types import JSONDocument, utcnow


class CloudResourceRow(IdMixin, Base):
    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("credential_id", "resource_id"),
        Index(None, "user_id", "type", "status"),
        Index(None, "user_id", "provider"),
        Index(None, "user_id", "last_synced_at"),
        Index(None, "user_id", "name", "id"),
        Index(None, "credential_id", "region", "native_type"),
        Index(None, "credential_id", "scope"),
        # A credential's resources by name: nested pages read size + 1 rows through it.
        Index(None, "credential_id", "name", "id"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    provider: Mapped[Provider] = mapped_column(enum_column(Provider))
    account: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(64))
    type: Mapped[ResourceType] = mapped_column(enum_column(ResourceType))
    native_type: Mapped[str] = mapped_column(String(128))
    resource_id: Mapped[str] = mapped_column(String(512))
    name: Mapped[str] = mapped_column(String(512))
    status: Mapped[ResourceStatus] = mapped_column(
        enum_column(ResourceStatus), default=ResourceStatus.UNKNOWN
    )
    tags: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    # The column is `metadata`, like the GraphQL field; SQLAlchemy's declarative API reserves that
    # attribute name, so the attribute takes its usual escape, a trailing underscore.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument, default=dict)
    # Normalized security-relevant settings, one shape per native type (docs/providers.md).
    configuration: Mapped[dict[str, Any]] = mapped_column(
        JSONDocument, default=dict, server_default=text("'{}'")
    )
    cost_per_hour: Mapped[float | None] = mapped_column(Float, default=None)
    # The key of the scope whose listing last wrote it (`<region>/<kind>`; also shown as
    # `metadata._scope`): stale marking reads one scope's rows through its index.
    scope: Mapped[str | None] = mapped_column(String(200), default=None)
    # Which price table (and region, and date) cost_per_hour came from.
    cost_source: Mapped[str | None] = mapped_column(String(128), default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
