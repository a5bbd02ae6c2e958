"""The relations loader: every `CloudResource.relations` of a request batch into one statement.

Relations join resources by native id within a credential. Each direction is ranked per resource
(`row_number() … <= limit`), both directions are one `UNION ALL`, and the resource at the other
end comes from the same statement (a left join on the caller's live resources), so a page of 100
resources with their relations and related resources costs one statement whatever its size.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal_column, select, tuple_, union_all
from strawberry.dataloader import DataLoader

from db.models import CloudResourceRow, ResourceRelationRow
from db.scoping import ScopedDatabase
from graph.inventory.columns import RESOURCE_COLUMNS

OUTGOING = "OUTGOING"
INCOMING = "INCOMING"


@dataclass(frozen=True, slots=True)
class RelationKey:
    credential_id: uuid.UUID
    resource_id: str  # the native id
    types: tuple[str, ...]  # empty: every type
    directions: tuple[str, ...]
    limit: int  # per direction


@dataclass(frozen=True, slots=True)
class RelationRow:
    type: str
    direction: str
    other_resource_id: str
    resource: Any | None  # a row of RESOURCE_COLUMNS, or None when not in the inventory


def relations_by_resource(db: ScopedDatabase) -> DataLoader[RelationKey, list[RelationRow]]:
    async def load(keys: Sequence[RelationKey]) -> list[list[RelationRow]]:
        found: dict[tuple[uuid.UUID, str, str], list[RelationRow]] = defaultdict(list)
        groups: dict[tuple[tuple[str, ...], tuple[str, ...], int], set[tuple[uuid.UUID, str]]]
        groups = defaultdict(set)
        for key in keys:
            groups[(key.types, key.directions, key.limit)].add((key.credential_id, key.resource_id))
        async with db.session() as session:
            connection = await session.connection()
            for (types, directions, limit), anchors in groups.items():
                statement = _statement(db, sorted(anchors), types, directions, limit)
                for row in (await connection.execute(statement)).all():
                    other = row if row.id is not None else None
                    found[(row.anchor_credential, row.anchor, row.relation_direction)].append(
                        RelationRow(row.relation_type, row.relation_direction, row.other, other)
                    )
        return [
            [
                item
                for direction in key.directions
                for item in found.get((key.credential_id, key.resource_id, direction), [])
                if not key.types or item.type in key.types
            ]
            for key in keys
        ]

    return DataLoader(load_fn=load)


def _statement(
    db: ScopedDatabase,
    anchors: list[tuple[uuid.UUID, str]],
    types: tuple[str, ...],
    directions: tuple[str, ...],
    limit: int,
) -> Any:
    rel = ResourceRelationRow
    other_rows = (
        db.scope.select_columns(CloudResourceRow, *RESOURCE_COLUMNS)
        .where(CloudResourceRow.deleted_at.is_(None))
        .subquery("other_resource")
    )
    parts = []
    for direction in directions:
        anchor, other = (
            (rel.source_resource_id, rel.target_resource_id)
            if direction == OUTGOING
            else (rel.target_resource_id, rel.source_resource_id)
        )
        position = (
            func.row_number()
            .over(partition_by=(rel.credential_id, anchor), order_by=(rel.type, other))
            .label("position")
        )
        part = (
            db.scope.select_columns(
                rel,
                rel.credential_id.label("anchor_credential"),
                anchor.label("anchor"),
                other.label("other"),
                rel.type.label("relation_type"),
                literal_column(f"'{direction}'").label("relation_direction"),
                position,
                *other_rows.c,
            )
            .outerjoin(
                other_rows,
                and_(
                    other_rows.c.credential_id == rel.credential_id,
                    other_rows.c.resource_id == other,
                ),
            )
            .where(tuple_(rel.credential_id, anchor).in_(anchors))
        )
        if types:
            part = part.where(rel.type.in_(types))
        parts.append(part)
    ranked = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("ranked")
    return (
        select(ranked)
        .where(ranked.c.position <= limit)
        .order_by(ranked.c.relation_direction.desc(), ranked.c.relation_type, ranked.c.other)
    )
