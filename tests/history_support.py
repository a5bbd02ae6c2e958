"""Reading the change records a sync wrote, for history tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from db.engine import Database
from db.enums import ResourceChangeKind
from db.models import ResourceChangeRow
from graph.runtime import Runtime
from providers.base import Relation, ResourceRecord, Scope
from tests.sync_support import ScriptedInventory, throttled


async def change_rows(database: Database, credential_id: uuid.UUID) -> list[ResourceChangeRow]:
    """Every change record of a credential, oldest first (one sync's records by resource id)."""
    async with database.system_session() as session:
        rows = await session.scalars(
            select(ResourceChangeRow)
            .where(ResourceChangeRow.credential_id == credential_id)
            .order_by(ResourceChangeRow.at, ResourceChangeRow.resource_id, ResourceChangeRow.kind)
        )
        return list(rows)


def summary(rows: list[ResourceChangeRow]) -> list[tuple[str, str]]:
    """(resource id, kind) of each record."""
    return [(row.resource_id, row.kind.value) for row in rows]


def fields(row: ResourceChangeRow) -> dict[str, tuple[Any, Any]]:
    return {change["field"]: (change["before"], change["after"]) for change in row.changes}


def edit(inventory: ScriptedInventory, scope: Scope, resource_id: str, **values: Any) -> None:
    """Change one listed record of a scripted inventory."""
    inventory.listings[scope] = [
        replace(r, **values) if r.resource_id == resource_id else r
        for r in inventory.listings[scope]
    ]


def relate(record: ResourceRecord, *relations: Relation) -> ResourceRecord:
    return replace(record, relations=tuple(relations))


class ChunkedInventory(ScriptedInventory):
    """Streams each scope in chunks of `size`; chunks may repeat a record."""

    def __init__(self, listings: dict[Scope, list[ResourceRecord]], size: int = 2) -> None:
        super().__init__(listings)
        self.size = size
        self.fail_after: dict[Scope, int] = {}

    async def stream_scope(self, scope: Scope) -> AsyncIterator[list[ResourceRecord]]:
        listing = list(self.listings[scope])
        for number, start in enumerate(range(0, len(listing), self.size)):
            if self.fail_after.get(scope) == number:
                raise throttled()
            yield listing[start : start + self.size]


def change_values(
    resource: Mapping[str, Any], at: datetime, kind: ResourceChangeKind, **overrides: Any
) -> dict[str, Any]:
    """A change record of an inserted resource (`tests.inventory_factories.resource_values`)."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": resource["user_id"],
        "credential_id": resource["credential_id"],
        "resource_row_id": resource["id"],
        "resource_id": resource["resource_id"],
        "type": resource["type"],
        "kind": kind,
        "at": at,
        "job_id": None,
        "changes": [],
    }
    values.update(overrides)
    return values


async def insert_changes(runtime: Runtime, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        async with runtime.database.system_session() as session:
            await session.execute(insert(ResourceChangeRow), list(rows))
