"""`CloudResource.findings`: one statement per batch of resources, however many a page lists.

Rows only (the findings columns): the resource is the parent, so the caller builds each
`Finding` with it. No import of the inventory types, which reach this module.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from db.models import FindingRow
from db.scoping import ScopedDatabase
from graph.findings.columns import FINDING_COLUMNS
from sync.findings.rules import BY_ID

KNOWN_RULES = tuple(sorted(BY_ID))


def findings_by_resource(db: ScopedDatabase) -> DataLoader[uuid.UUID, list[Any]]:
    """Every finding of each resource (at most one per rule of its kind), most severe first."""

    async def load(ids: Sequence[uuid.UUID]) -> list[list[Any]]:
        statement = (
            db.scope.select_columns(FindingRow, *FINDING_COLUMNS)
            .where(FindingRow.resource_row_id.in_(ids), FindingRow.rule_id.in_(KNOWN_RULES))
            .order_by(FindingRow.severity_rank, FindingRow.rule_id)
        )
        found: dict[uuid.UUID, list[Any]] = defaultdict(list)
        async with db.session() as session:
            for row in (await (await session.connection()).execute(statement)).all():
                found[row.f_resource_row_id].append(row)
        return [found.get(key, []) for key in ids]

    return DataLoader(load_fn=load)
