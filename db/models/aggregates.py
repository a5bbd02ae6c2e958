"""Inventory totals kept current by the sync write path: `resource_counts`.

One row per (credential, scope, provider, account, region, type, native type, status) with how
many live (not deleted) resources fall in it, how many of those have a price, the sum of their
hourly prices and the latest `last_synced_at` among them. Every statement that changes live
resource rows adjusts these rows in the same transaction (`sync.aggregates`), so the dashboard
and resource counts read a few hundred rows instead of the whole inventory.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.enums import Provider, ResourceStatus, ResourceType
from db.models.columns import enum_column, owner_column


class ResourceCountRow(Base):
    __tablename__ = "resource_counts"
    __table_args__ = (Index(None, "user_id", "provider"),)

    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE"), primary_key=True
    )
    # The resources' `scope` ('' for rows written before scopes were stamped).
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    provider: Mapped[Provider] = mapped_column(enum_column(Provider), primary_key=True)
    account: Mapped[str] = mapped_column(String(128), primary_key=True)
    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[ResourceType] = mapped_column(enum_column(ResourceType), primary_key=True)
    native_type: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[ResourceStatus] = mapped_column(enum_column(ResourceStatus), primary_key=True)
    user_id: Mapped[uuid.UUID] = owner_column()
    count: Mapped[int] = mapped_column(Integer, default=0)
    # Resources with a known price, and the sum of their prices (USD per hour).
    priced: Mapped[int] = mapped_column(Integer, default=0)
    cost_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    last_synced_at: Mapped[datetime | None] = mapped_column(default=None)
