"""Relations between inventory resources, derived from a scope's listing.

Both ends are native ids within one credential (`resources.resource_id`), not row ids: a relation
may point at something not (yet) in the inventory, and the target's row is found by a join when
it is read. A scope's relations are replaced in the same transaction as its stale marking, so
they always describe the listing the inventory holds.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin
from db.enums import RelationType
from db.models.columns import enum_column, owner_column


class ResourceRelationRow(IdMixin, Base):
    """A stored `ResourceRelation`."""

    __tablename__ = "resource_relations"
    __table_args__ = (
        Index(None, "credential_id", "source_resource_id"),
        Index(None, "credential_id", "target_resource_id"),
        Index(None, "credential_id", "scope"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    # The key of the scope whose listing produced it (`<region>/<kind>`, as `metadata._scope`).
    scope: Mapped[str] = mapped_column(String(200))
    source_resource_id: Mapped[str] = mapped_column(String(512))
    type: Mapped[RelationType] = mapped_column(enum_column(RelationType))
    target_resource_id: Mapped[str] = mapped_column(String(512))
