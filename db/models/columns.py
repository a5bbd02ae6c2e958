"""Column helpers shared by the model modules."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


def enum_column(enum: type[StrEnum], *, length: int = 16) -> Enum:
    """A portable string column restricted to the enum's names (no native PG enum to migrate)."""
    return Enum(
        enum,
        native_enum=False,
        length=length,
        create_constraint=True,
        name=enum.__name__.lower(),
        values_callable=lambda members: [m.value for m in members],
    )


def owner_column(*, nullable: bool = False) -> Mapped[uuid.UUID]:
    """The `user_id` every owned row carries; row-level security and the scoping helper read it."""
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable, index=False)
