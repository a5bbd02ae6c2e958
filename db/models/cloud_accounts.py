"""The cloud accounts a credential covers (AWS accounts of an Organization, Azure subscriptions,
GCP projects), with the outcome of each one's last sync."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin
from db.enums import AccountStatus
from db.models.columns import enum_column, owner_column
from db.types import utcnow


class CloudAccountRow(IdMixin, Base):
    __tablename__ = "cloud_accounts"
    __table_args__ = (
        UniqueConstraint("credential_id", "account_id"),
        Index(None, "user_id", "credential_id"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    # The cloud's own id: AWS account number, Azure subscription id, GCP project id.
    account_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[AccountStatus] = mapped_column(
        enum_column(AccountStatus), default=AccountStatus.ACTIVE
    )
    # When a listing of this account last completed (any of its scopes).
    last_synced_at: Mapped[datetime | None] = mapped_column(default=None)
    resource_count: Mapped[int] = mapped_column(default=0)
    # Why the last sync could not list it: a ProviderError's code and safe message, never raw.
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(500), default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
