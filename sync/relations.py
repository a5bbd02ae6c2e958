"""Writing a scope's relations: replaced as a whole when the scope's listing completed.

The engine calls `replace_relations` in the transaction that marks the scope's stale rows, so the
relations of a scope always describe the listing the inventory holds, and a failed listing (which
never reaches that transaction) changes none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from db.bulk import BulkWrite
from db.ids import new_id
from db.models import CloudCredentialRow, ResourceRelationRow
from providers.base import ResourceRecord

RelationKey = tuple[str, str, str]  # (source native id, relation type, target native id)
_RELATIONS: Table = ResourceRelationRow.__table__  # type: ignore[assignment]
RELATION_ROWS = BulkWrite(
    _RELATIONS,
    ("id", "user_id", "credential_id", "scope", "source_resource_id", "type", "target_resource_id"),
)


def relation_keys(records: Iterable[ResourceRecord]) -> set[RelationKey]:
    """The distinct relations of some records (self-references dropped)."""
    return {
        (record.resource_id, relation.type.value, relation.target)
        for record in records
        for relation in record.relations
        if relation.target and relation.target != record.resource_id
    }


async def replace_relations(
    session: AsyncSession,
    credential: CloudCredentialRow,
    key: str,
    relations: set[RelationKey],
    *,
    batch_size: int,
    clear: bool = True,
) -> set[RelationKey]:
    """Delete the scope's previous relations (unless the caller knows it has none: `clear`
    False) and insert the listing's, in the caller's transaction (batched executemany: one
    INSERT per batch). Returns the relations deleted (the DELETE's RETURNING), for the change
    records."""
    old: set[RelationKey] = set()
    if clear:
        deleted = await session.execute(
            delete(ResourceRelationRow)
            .where(
                ResourceRelationRow.credential_id == credential.id,
                ResourceRelationRow.scope == key,
            )
            .returning(
                ResourceRelationRow.source_resource_id,
                ResourceRelationRow.type,
                ResourceRelationRow.target_resource_id,
            )
        )
        old = {(source, str(kind), target) for source, kind, target in deleted}
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "user_id": credential.user_id,
            "credential_id": credential.id,
            "scope": key,
            "source_resource_id": source,
            "type": kind,
            "target_resource_id": target,
        }
        for source, kind, target in sorted(relations)
    ]
    await RELATION_ROWS.execute(session, rows, batch_size, behind=True)
    return old
