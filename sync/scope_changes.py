"""What a scope's writes changed (`ScopeChanges`), and what a job found stored when it started
(`Stored`), which lets a scope skip work that provably has nothing to do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ResourceCountRow, ResourceRelationRow
from sync.aggregates import Deltas
from sync.history import ChangeLog


@dataclass(slots=True)
class ScopeChanges:
    """What a scope's writes changed. Derived work (`DERIVED`) reads it to skip cheaply when the
    scope changed nothing. `updated` counts stored rows the listing refreshed."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    # Rows the upserts wrote (added + updated): the scope's recorded count.
    written: int = 0
    relations_replaced: bool = False
    # What this transaction's writes changed in the live rows, for the aggregates.
    deltas: Deltas = field(default_factory=Deltas)
    # The change records of this transaction's writes not inserted yet; it carries the job id
    # (None: nothing is recorded, as for a scope that wrote nothing).
    history: ChangeLog | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.relations_replaced)


@dataclass(frozen=True, slots=True)
class Stored:
    """Which scopes of a credential had live rows and which had relations when its job started.

    Only the credential's one active job writes its rows, and a row carries the key of the scope
    that last wrote it, so a scope absent from `rows` holds no live row the job did not write."""

    rows: frozenset[str]
    relations: frozenset[str]

    def has_rows(self, key: str) -> bool:
        return key in self.rows

    def has_relations(self, key: str) -> bool:
        return key in self.relations

    def empty(self, key: str) -> bool:
        return key not in self.rows and key not in self.relations


async def stored_scopes(session: AsyncSession, credential_id: uuid.UUID) -> Stored:
    """One statement: the scopes with live rows (from the aggregates) and with relations."""
    with_rows = select(ResourceCountRow.scope, literal(0).label("relations")).where(
        ResourceCountRow.credential_id == credential_id
    )
    with_relations = select(ResourceRelationRow.scope, literal(1)).where(
        ResourceRelationRow.credential_id == credential_id
    )
    found = (await session.execute(union(with_rows, with_relations))).all()
    return Stored(
        rows=frozenset(key for key, kind in found if kind == 0),
        relations=frozenset(key for key, kind in found if kind == 1),
    )
