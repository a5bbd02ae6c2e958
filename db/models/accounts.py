"""Users and their refresh-token sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin
from db.enums import Role
from db.models.columns import enum_column, owner_column
from db.types import utcnow


class UserRow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.USER)
    is_active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Access tokens issued before this instant are refused (password change, log out everywhere).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set with the confirmed TOTP factor, in the same transaction: read on every request.
    totp_enabled: Mapped[bool] = mapped_column(default=False)


class RefreshTokenRow(IdMixin, CreatedAtMixin, Base):
    """One issued refresh token; rotation chains tokens of one log-in into a family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "user_id", "family_id"),)

    user_id: Mapped[uuid.UUID] = owner_column()
    family_id: Mapped[uuid.UUID] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
