"""What a scope's writes changed (`ScopeChanges`), and what a job found stored when it started
(`Stored`), which lets a scope skip work that provably has nothing to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ResourceCountRow, ResourceRelationRow
from sync.aggregates import Deltas
from sync.findings.evaluate import Candidate
from sync.history import ChangeLog


@dataclass(slots=True)
class Upserted:
    """Every row a scope's transaction upserted, as written, and the native ids of those it
    created: when it holds the scope's whole listing, the findings are evaluated from it instead
    of reading the rows back, and rows it created are known to have no finding and no history
    yet."""

    candidates: list[Candidate] = field(default_factory=list)
    created: set[str] = field(default_factory=set)

    def add(
        self,
        stored: Sequence[Mapping[str, Any]],
        written: Sequence[Mapping[str, Any]],
        row_ids: Mapping[str, uuid.UUID],
    ) -> None:
        """A batch the upsert wrote; `stored` is what existed of it before (deleted rows too)."""
        existed = {row["resource_id"] for row in stored}
        for values in written:
            resource_id = values["resource_id"]
            row_id = row_ids.get(resource_id, values["id"])
            if resource_id not in existed:
                self.created.add(resource_id)
            self.candidates.append(
                Candidate(row_id, resource_id, values["native_type"], values["configuration"])
            )


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
    # The rows written, when this transaction wrote the scope's whole listing and nothing else
    # of the scope stayed live (None: who needs them reads them back).
    upserted: Upserted | None = None

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
