"""Keeping `resource_counts` equal to a GROUP BY over the live resource rows.

Every statement that changes live rows reports what it changed (the rows' dimensions before and
after) into `Deltas`; `apply` adds them in the same transaction with one additive upsert
(`count = count + excluded.count`). Additions commute, so two scopes of one credential committing
concurrently on PostgreSQL cannot lose each other's updates, and a streamed scope costs one small
upsert per chunk (a recompute per chunk would read the scope again each time). Rows are upserted
in key order, so concurrent writers lock shared aggregate rows in the same order.

`last_synced_at` is the latest stamp of the group: it only grows, and a group whose rows are all
removed is deleted, so the dashboard's "last updated" equals the live rows' maximum (every row a
completed listing keeps carries that listing's stamp).

`rebuild` recomputes a credential's rows from its resource rows: after a backup restore, or for
rows inserted without the sync engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Table, case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CloudResourceRow, ResourceCountRow
from db.upserts import per_dialect

_COUNTS: Table = ResourceCountRow.__table__  # type: ignore[assignment]
# The grouping of an aggregate row, as named on both tables.
KEY = ("scope", "provider", "account", "region", "type", "native_type", "status")
# What a write must read (or return) of a resource row to report it.
DIMENSIONS = tuple(
    getattr(CloudResourceRow, name) for name in (*KEY, "cost_per_hour", "last_synced_at")
)
Key = tuple[Any, ...]
_KEY_OF = itemgetter(*KEY)


@dataclass(slots=True)
class _Change:
    count: int = 0
    priced: int = 0
    cost: float = 0.0
    seen: datetime | None = None

    def saw(self, stamp: datetime | None) -> None:
        """The group's latest stamp, moved forward to `stamp`."""
        if stamp is not None and (self.seen is None or stamp > self.seen):
            self.seen = stamp


class Deltas:
    """What some writes changed in the live rows, per aggregate key."""

    def __init__(self) -> None:
        self._changes: dict[Key, _Change] = {}

    def __bool__(self) -> bool:
        return bool(self._changes)

    def _change(self, row: Mapping[str, Any]) -> _Change:
        key: Key = _KEY_OF(row)
        if not key[0]:  # rows written before scopes were stamped: grouped under ""
            key = ("", *key[1:])
        change = self._changes.get(key)
        if change is None:
            change = self._changes[key] = _Change()
        return change

    def added(self, row: Mapping[str, Any]) -> None:
        """A row became live (or is live again with these values)."""
        change = self._change(row)
        change.count += 1
        cost = row["cost_per_hour"]
        if cost is not None:
            change.priced += 1
            change.cost += cost
        change.saw(row["last_synced_at"])

    def removed(self, row: Mapping[str, Any]) -> None:
        """A live row was deleted, or is about to be rewritten with other values."""
        change = self._change(row)
        change.count -= 1
        cost = row["cost_per_hour"]
        if cost is not None:
            change.priced -= 1
            change.cost -= cost

    def seen(self, row: Mapping[str, Any]) -> None:
        """A live row's `last_synced_at` moved forward."""
        self._change(row).saw(row["last_synced_at"])

    def merge(self, other: Deltas) -> None:
        for key, theirs in other._changes.items():
            ours = self._changes.setdefault(key, _Change())
            ours.count += theirs.count
            ours.priced += theirs.priced
            ours.cost += theirs.cost
            ours.saw(theirs.seen)

    def rows(self, credential_id: uuid.UUID, user_id: uuid.UUID) -> list[dict[str, Any]]:
        return [
            {
                "credential_id": credential_id,
                "user_id": user_id,
                **dict(zip(KEY, key, strict=True)),
                "count": change.count,
                "priced": change.priced,
                "cost_per_hour": change.cost,
                "last_synced_at": change.seen,
            }
            for key, change in sorted(self._changes.items())
        ]

    def shrinks(self) -> set[str]:
        """Scopes where some group lost rows (and may now be empty)."""
        return {key[0] for key, change in self._changes.items() if change.count < 0}


@per_dialect
def _upsert_statement(insert: Any) -> Any:
    statement = insert(_COUNTS)
    new = statement.excluded
    latest = case(
        (new.last_synced_at.is_(None), _COUNTS.c.last_synced_at),
        (_COUNTS.c.last_synced_at.is_(None), new.last_synced_at),
        (new.last_synced_at > _COUNTS.c.last_synced_at, new.last_synced_at),
        else_=_COUNTS.c.last_synced_at,
    )
    return statement.on_conflict_do_update(
        index_elements=list(_COUNTS.primary_key.columns),
        set_={
            "count": _COUNTS.c.count + new.count,
            "priced": _COUNTS.c.priced + new.priced,
            "cost_per_hour": _COUNTS.c.cost_per_hour + new.cost_per_hour,
            "last_synced_at": latest,
        },
    )


async def apply(
    session: AsyncSession, credential_id: uuid.UUID, user_id: uuid.UUID, deltas: Deltas
) -> None:
    """Add the deltas to the credential's aggregate rows (nothing when there are none); groups
    left empty are deleted."""
    if not deltas:
        return
    await session.execute(_upsert_statement(session), deltas.rows(credential_id, user_id))
    shrunk = deltas.shrinks()
    if shrunk:
        await session.execute(
            delete(ResourceCountRow).where(
                ResourceCountRow.credential_id == credential_id,
                ResourceCountRow.scope.in_(sorted(shrunk)),
                ResourceCountRow.count <= 0,
            )
        )


def returned(rows: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Result rows of `DIMENSIONS` as mappings `Deltas` reads."""
    return [row._mapping for row in rows]


async def rebuild(session: AsyncSession, credential_ids: Iterable[uuid.UUID] | None = None) -> None:
    """Recompute the aggregate rows of these credentials (all when None) from their live rows."""
    wanted = None if credential_ids is None else sorted(set(credential_ids))
    clear = delete(ResourceCountRow)
    live: ColumnElement[bool] = CloudResourceRow.deleted_at.is_(None)
    if wanted is not None:
        clear = clear.where(ResourceCountRow.credential_id.in_(wanted))
        live = live & CloudResourceRow.credential_id.in_(wanted)
    await session.execute(clear)
    scope = func.coalesce(CloudResourceRow.scope, "")
    groups = (
        CloudResourceRow.user_id,
        CloudResourceRow.credential_id,
        scope,
        *(getattr(CloudResourceRow, name) for name in KEY[1:]),
    )
    grouped = (
        select(
            *groups,
            func.count(),
            func.count(CloudResourceRow.cost_per_hour),
            func.coalesce(func.sum(CloudResourceRow.cost_per_hour), 0.0),
            func.max(CloudResourceRow.last_synced_at),
        )
        .where(live)
        .group_by(*groups)
    )
    columns = ["user_id", "credential_id", *KEY, "count", "priced", "cost_per_hour"]
    await session.execute(insert(_COUNTS).from_select([*columns, "last_synced_at"], grouped))
