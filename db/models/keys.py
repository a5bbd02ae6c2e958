"""When each signing and vault key was first seen, by a non-secret fingerprint (never the key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import utcnow


class KeyAgeRow(Base):
    """One row per key material ever configured; `kind` is 'signing' or 'vault'."""

    __tablename__ = "key_ages"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    # A truncated SHA-256 of a labelled key digest: identifies material, reveals nothing of it.
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The ring's name for it when first seen (vault key id, or the JWT `kid` header value).
    key_id: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
