"""Change records: what each sync changed in the inventory, per resource.

The write path collects records into the `ChangeLog` its `ScopeChanges` carry (with the job id)
at three places, and they are inserted in the transaction that makes the change (by the derived
work of a completed scope, `store.DERIVED`, or with a streamed chunk), so a record exists exactly
when its change was committed:

- `upsert_batch` reads the compared columns of a batch's stored rows (the locked read it makes
  for the aggregates, widened) and hands them here with what it wrote: CREATED for a new row,
  UPDATED when a compared field differs, RESTORED when a deleted row reappears. A row this
  listing already wrote (an earlier chunk of the same stream) is not recorded again.
- stale marking hands the rows it marked (the UPDATE … RETURNING that also feeds the
  aggregates): DELETED.
- replacing a scope's relations hands the relations it deleted and the listing's: a change of
  `relations.<TYPE>` for each resource whose targets differ.

A scope that changed nothing collects nothing and costs no statement.

Compared: name, region, type, status, every tag (`tags.<key>`), configuration per leaf path
(`configuration.publicAccessBlock.blockPublicAcls`; a list is one value) and relations. Never
`metadata`: it holds the engine's own bookkeeping (`_scope`) and provider details that are not
settings. Configuration is sanitized before it is stored, so records hold nothing the inventory
does not.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.bulk import BulkWrite
from db.enums import ResourceChangeKind
from db.ids import new_id
from db.models import CloudCredentialRow, CloudResourceRow, ResourceChangeRow

_CHANGES: Table = ResourceChangeRow.__table__  # type: ignore[assignment]
CHANGE_ROWS = BulkWrite(
    _CHANGES,
    ("id", "user_id", "credential_id", "resource_row_id", "resource_id", "type", "kind", "at",
     "job_id", "changes"),
)  # fmt: skip
# (source native id, relation type, target native id), as sync/relations.py keys them.
RelationKey = tuple[str, str, str]
Change = dict[str, Any]

# What `upsert_batch` reads of a batch's stored rows to compare them (with `resource_id`,
# `last_synced_at` and `deleted_at`, which it reads anyway).
COMPARED_COLUMNS = (
    CloudResourceRow.id,
    CloudResourceRow.name,
    CloudResourceRow.region,
    CloudResourceRow.type,
    CloudResourceRow.status,
    CloudResourceRow.tags,
    CloudResourceRow.configuration,
)
# What a record needs of a row besides its `type`, which stale marking returns anyway.
IDENTITY_COLUMNS = (
    CloudResourceRow.id,
    CloudResourceRow.user_id,
    CloudResourceRow.credential_id,
    CloudResourceRow.resource_id,
)
MARKED_COLUMNS = (*IDENTITY_COLUMNS, CloudResourceRow.type)
_SCALARS = ("name", "region", "type", "status")
_LOOKUP_BATCH = 500


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _mapping_changes(
    prefix: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[Change]:
    """One change per key whose value differs, descending into objects on both sides, so a
    change names the setting itself (`configuration.encryption.enabled`)."""
    changes: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        path = f"{prefix}.{key}"
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(_mapping_changes(path, old, new))
        else:
            changes.append({"field": path, "before": old, "after": new})
    return changes


def field_changes(stored: Mapping[str, Any], written: Mapping[str, Any]) -> list[Change]:
    """What differs between a stored row (COMPARED_COLUMNS) and the values written over it."""
    changes: list[Change] = []
    for name in _SCALARS:
        old, new = stored[name], written[name]
        if old != new:
            changes.append({"field": name, "before": _plain(old), "after": _plain(new)})
    tags, configuration = stored["tags"], stored["configuration"]
    if tags != written["tags"]:
        changes.extend(_mapping_changes("tags", tags or {}, written["tags"]))
    if configuration != written["configuration"]:
        changes.extend(
            _mapping_changes("configuration", configuration or {}, written["configuration"])
        )
    return changes


@dataclass
class ChangeLog:
    """The change records of one transaction (a scope, or one chunk of a streamed scope) of job
    `job_id`, collected while it writes and inserted before it commits."""

    job_id: uuid.UUID
    at: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        source: Mapping[Any, Any],
        row_id: uuid.UUID,
        kind: ResourceChangeKind,
        changes: list[Change],
    ) -> None:
        self.rows.append(
            {
                "id": new_id(),
                "user_id": source["user_id"],
                "credential_id": source["credential_id"],
                "resource_row_id": row_id,
                "resource_id": source["resource_id"],
                "type": source["type"],
                "kind": kind,
                "at": self.at,
                "job_id": self.job_id,
                "changes": changes,
            }
        )

    def upserted(
        self,
        stored: Sequence[Mapping[str, Any]],
        written: Sequence[Mapping[str, Any]],
        row_ids: Mapping[str, uuid.UUID],
    ) -> None:
        """Record a batch the upsert just wrote; `stored` is what the rows held before it,
        `row_ids` the inventory row id of each written resource id."""
        before = {row["resource_id"]: row for row in stored}
        for values in written:
            resource_id = values["resource_id"]
            row_id = row_ids.get(resource_id, values["id"])
            old = before.get(resource_id)
            if old is None:
                self.add(values, row_id, ResourceChangeKind.CREATED, [])
            elif old["last_synced_at"] >= self.at:
                continue  # written earlier in this same listing: recorded then
            elif old["deleted_at"] is not None:
                self.add(values, row_id, ResourceChangeKind.RESTORED, field_changes(old, values))
            else:
                changes = field_changes(old, values)
                if changes:
                    self.add(values, row_id, ResourceChangeKind.UPDATED, changes)

    def deleted(self, row: Mapping[str, Any]) -> None:
        """Record a row stale marking just marked deleted (MARKED_COLUMNS)."""
        self.add(row, row["id"], ResourceChangeKind.DELETED, [])

    async def relations_replaced(
        self,
        session: AsyncSession,
        credential: CloudCredentialRow,
        old: set[RelationKey],
        new: set[RelationKey],
        created: AbstractSet[str] = frozenset(),
    ) -> None:
        """UPDATED records for resources whose relations the scope's listing changed.

        Resources this listing created (their CREATED record stands for everything they have)
        or that are now deleted (DELETED says it) get none; the lookup that tells which (one
        per batch of touched resources, none when nothing changed) comes first, so a first
        sync, where every relation is new, compares nothing. `created`: native ids the caller
        knows this listing created, left out before the lookup (none left: no lookup)."""
        differing = old ^ new
        if not differing:
            return
        touched = sorted({source for source, _, _ in differing} - created)
        if not touched:
            return
        rows: list[Any] = []
        for start in range(0, len(touched), _LOOKUP_BATCH):
            found = await session.execute(
                select(*MARKED_COLUMNS).where(
                    CloudResourceRow.credential_id == credential.id,
                    CloudResourceRow.resource_id.in_(touched[start : start + _LOOKUP_BATCH]),
                    CloudResourceRow.deleted_at.is_(None),
                    CloudResourceRow.first_seen_at < self.at,
                )
            )
            rows += [row._mapping for row in found]
        if not rows:
            return
        changed = relation_changes(old, new, {row["resource_id"] for row in rows})
        for row in rows:
            if row["resource_id"] in changed:
                self.add(row, row["id"], ResourceChangeKind.UPDATED, changed[row["resource_id"]])

    async def write(self, session: AsyncSession, batch_size: int) -> None:
        """Insert what was collected (batched executemany; nothing when there is nothing) and
        start over."""
        rows, self.rows = self.rows, []
        await CHANGE_ROWS.execute(session, rows, batch_size, behind=True)


def relation_changes(
    old: set[RelationKey], new: set[RelationKey], sources: set[str]
) -> dict[str, list[Change]]:
    """For each of `sources`, one change per relation type whose targets differ."""
    before: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    after: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for keys, targets in ((old, before), (new, after)):
        for source, kind, target in keys:
            if source in sources:
                targets[(source, kind)].append(target)
    by_source: defaultdict[str, list[Change]] = defaultdict(list)
    for source, kind in sorted(before.keys() | after.keys()):
        was, now = sorted(before[(source, kind)]), sorted(after[(source, kind)])
        if was != now:
            by_source[source].append({"field": f"relations.{kind}", "before": was, "after": now})
    return dict(by_source)
