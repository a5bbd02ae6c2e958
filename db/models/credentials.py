"""Cloud credentials: only ciphertext, its key id and a non-secret fingerprint are stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin
from db.enums import HealthStatus, Provider
from db.models.columns import enum_column, owner_column
from db.types import utcnow


class CloudCredentialRow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "cloud_credentials"
    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        Index(None, "key_id"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    provider: Mapped[Provider] = mapped_column(enum_column(Provider))
    name: Mapped[str] = mapped_column(String(100))
    default_region: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    health_status: Mapped[HealthStatus] = mapped_column(
        enum_column(HealthStatus), default=HealthStatus.UNKNOWN
    )
    health_response_ms: Mapped[int | None] = mapped_column(default=None)
    health_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    health_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # When the secret itself was stored or replaced (re-encryption by rotate-keys is not a change).
    secret_rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the owner was told this secret passed KEY_MAX_AGE_DAYS; cleared by a new secret.
    secret_age_reported_at: Mapped[datetime | None] = mapped_column(default=None)
