"""Second factors: a TOTP secret (sealed by the vault), recovery codes and log-in challenges."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin
from db.models.columns import owner_column


class TotpFactorRow(IdMixin, CreatedAtMixin, Base):
    """One per user: pending until `confirmed_at`, active after."""

    __tablename__ = "totp_factors"
    __table_args__ = (UniqueConstraint("user_id"), Index(None, "key_id"))

    user_id: Mapped[uuid.UUID] = owner_column()
    key_id: Mapped[str] = mapped_column(String(32))
    # The base32 secret, sealed with associated data naming the owner and this row.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The newest time step a code was accepted for: a code is never accepted twice.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RecoveryCodeRow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    user_id: Mapped[uuid.UUID] = owner_column()
    # SHA-256 of the normalized code; codes carry 80 random bits, so no slow hash is needed.
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class MfaChallengeRow(IdMixin, CreatedAtMixin, Base):
    """A password-verified log-in waiting for its second factor (the `mfaToken`)."""

    __tablename__ = "mfa_challenges"
    __table_args__ = (Index(None, "user_id"),)

    user_id: Mapped[uuid.UUID] = owner_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
