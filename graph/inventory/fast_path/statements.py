"""The page statement of a plan, built once per shape with the regular read path's modules.

The select comes from the same pieces the `resources` resolver uses — `OwnerScope` (the one
scoping helper), `ResourceCriteria.apply`, `resource_ordering` and keyset `seek` — with the
caller's id and the cursor's key values as named bind parameters. The statement is compiled once
per (columns, criteria, ordering, direction, size, cursor or not) and reused, so a request only
fills in its own values. The caller's account state (active, revocation cut-off, role, two-factor)
is read by the same statement through scalar subqueries, so a revoked token is caught in the very
snapshot the page is read from.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, bindparam, func

from db.models import CloudResourceRow, UserRow
from db.scoping import OwnerScope
from graph.connections.keyset import Ordering, PageRequest, seek
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.inventory.filters import ResourceCriteria

USER = "fast_user"
ACCOUNT_COLUMNS = (
    "account_is_active",
    "account_tokens_valid_after",
    "account_role",
    "account_totp",
)
BY_NAME = {column.key: column for column in RESOURCE_COLUMNS}
# What each node field reads (ordering keys are added to these).
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "provider": ("provider",),
    "type": ("type",),
    "nativeType": ("native_type",),
    "resourceId": ("resource_id",),
    "name": ("name",),
    "region": ("region",),
    "account": ("account",),
    "status": ("status",),
    "tags": ("tags",),
    "metadata": ("metadata_",),
    "configuration": ("configuration",),
    "costPerHour": ("cost_per_hour",),
    "estimatedMonthlyCost": ("cost_per_hour",),
    "costSource": ("cost_per_hour", "cost_source"),
    "firstSeenAt": ("first_seen_at",),
    "lastSyncedAt": ("last_synced_at",),
    "deletedAt": ("deleted_at",),
    "__typename": (),
}
# The columns an ordering's key extractors read (`SortKey.extract` takes the row).
ORDERING_COLUMNS: dict[str, tuple[str, ...]] = {
    "NAME": ("name", "id"),
    "LAST_SYNCED_AT": ("last_synced_at", "id"),
    "FIRST_SEEN_AT": ("first_seen_at", "id"),
    "COST": ("cost_per_hour", "id"),
}


def key_name(index: int) -> str:
    return f"fast_key_{index}"


@dataclass(frozen=True, slots=True)
class PageShape:
    columns: tuple[str, ...]
    criteria: ResourceCriteria
    ordering: Ordering
    forward: bool
    size: int
    with_cursor: bool

    @property
    def cache_key(self) -> tuple[Any, ...]:
        return (
            self.columns,
            self.criteria,
            self.ordering.name,
            self.forward,
            self.size,
            self.with_cursor,
        )


def columns_for(fields: Sequence[str], ordering: Ordering) -> tuple[str, ...]:
    field_name = ordering.name.split(":")[1]
    wanted = {column for name in fields for column in FIELD_COLUMNS[name]}
    wanted.update(ORDERING_COLUMNS[field_name])
    return tuple(column.key for column in RESOURCE_COLUMNS if column.key in wanted)


def owner_scope() -> OwnerScope:
    # The caller's id is a parameter of the compiled statement, filled per request.
    return OwnerScope(cast(uuid.UUID, bindparam(USER, type_=UserRow.id.type)))


def account_scalars(scope: OwnerScope) -> list[Any]:
    """The caller's account state as columns of any statement (`ACCOUNT_COLUMNS`)."""
    return [
        scope.users(column).scalar_subquery().label(label)
        for column, label in zip(
            (UserRow.is_active, UserRow.tokens_valid_after, UserRow.role, UserRow.totp_enabled),
            ACCOUNT_COLUMNS,
            strict=True,
        )
    ]


def page_statement(shape: PageShape) -> Select[Any]:
    scope = owner_scope()
    columns = [BY_NAME[name] for name in shape.columns]
    account = account_scalars(scope)
    statement = shape.criteria.apply(scope.select_columns(CloudResourceRow, *columns, *account))
    request = PageRequest(size=shape.size, forward=shape.forward, cursor=None)
    return seek(statement, shape.ordering, request, cursor_parameters(shape))


def cursor_parameters(shape: PageShape) -> tuple[Any, ...] | None:
    """The cursor's key values as named parameters (typed like their keys)."""
    if not shape.with_cursor:
        return None
    return tuple(
        bindparam(key_name(index), type_=key.expression.type)
        for index, key in enumerate(shape.ordering.keys)
    )


def account_statement() -> Select[Any]:
    """The caller's account state alone (an empty page has no row to carry it)."""
    scope = owner_scope()
    return scope.users(
        UserRow.is_active, UserRow.tokens_valid_after, UserRow.role, UserRow.totp_enabled
    )


def count_statement(criteria: ResourceCriteria) -> Select[Any]:
    scope = owner_scope()
    return criteria.apply(scope.select_columns(CloudResourceRow, func.count()))
