"""Filters and orderings of the `resources` connection, shared by `CloudCredential.resources`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, Select, and_, case, exists, func
from sqlalchemy.orm import aliased

from db import enums as db_enums
from db.models import CloudResourceRow, ResourceRelationRow
from graph.connections.keyset import Ordering, SortKey
from graph.enums import Provider, RelationDirection, RelationType, ResourceStatus, ResourceType
from graph.errors import BadRequest
from graph.node import from_global_id

MAX_FILTER_VALUES = 100
MAX_TAG_FILTERS = 20
MAX_SEARCH_CHARS = 200
MAX_TAG_KEY_CHARS = 128


@strawberry.input(description="A tag the resource must carry.")
class TagFilter:
    key: str = strawberry.field(description="Tag key (exact, case-sensitive).")
    value: str | None = strawberry.field(
        default=None, description="Tag value (exact); omit to match any value of the key."
    )


@strawberry.input(
    description="Resources connected to one given resource: with `direction: OUTGOING` (the "
    "default), those that are `type` the given one (`{type: PROTECTED_BY, resourceId: <group>}`: "
    "what this security group protects); with INCOMING, those the given one is `type` "
    "(`{type: PROTECTED_BY, resourceId: <instance>, direction: INCOMING}`: the instance's groups)."
)
class RelationFilter:
    type: RelationType = strawberry.field(description="The relation type.")
    resource_id: strawberry.ID = strawberry.field(
        description="The `id` of the given CloudResource (an ID you do not own matches nothing)."
    )
    direction: RelationDirection = strawberry.field(
        default=RelationDirection.OUTGOING,
        description="OUTGOING: listed resource TYPE given resource; INCOMING: given TYPE listed.",
    )


@strawberry.input(description="Which resources to return; all given conditions must hold.")
class ResourceFilter:
    provider: list[Provider] | None = strawberry.field(
        default=None, description="Any of these clouds."
    )
    type: list[ResourceType] | None = strawberry.field(
        default=None, description="Any of these categories."
    )
    region: list[str] | None = strawberry.field(default=None, description="Any of these regions.")
    account: list[str] | None = strawberry.field(
        default=None,
        description="Any of these cloud accounts (AWS account numbers, Azure subscription ids, "
        "GCP project ids), as `CloudResource.account` and `CloudAccount.accountId` show them.",
    )
    status: list[ResourceStatus] | None = strawberry.field(
        default=None, description="Any of these states."
    )
    credential_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only resources found with this credential."
    )
    tags: list[TagFilter] | None = strawberry.field(
        default=None, description="Every one of these tags (key, or key and value)."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive substring of the name or the provider's resource ID.",
    )
    include_deleted: bool | None = strawberry.field(
        default=False,
        description="Also return resources a sync no longer found (default: false).",
    )
    related_to: RelationFilter | None = strawberry.field(
        default=None, description="Only resources connected this way to a given resource."
    )


@strawberry.enum(
    description="What to sort resources by; ties are broken by ID, so order is stable."
)
class ResourceOrderField(Enum):
    NAME = strawberry.enum_value("NAME", description="Display name.")
    LAST_SYNCED_AT = strawberry.enum_value(
        "LAST_SYNCED_AT", description="When last seen by a sync."
    )
    COST = strawberry.enum_value(
        "COST", description="Cost per hour; resources without a known cost always come last."
    )
    FIRST_SEEN_AT = strawberry.enum_value("FIRST_SEEN_AT", description="When first seen by a sync.")


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest first.")
    DESC = strawberry.enum_value("DESC", description="Largest first.")


@strawberry.input(description="How to sort resources.")
class ResourceOrder:
    field: ResourceOrderField = strawberry.field(
        default=ResourceOrderField.NAME, description="The sort key (default NAME)."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="The direction (default ASC)."
    )


def _bounded(values: list[Any] | None, what: str) -> tuple[Any, ...]:
    if values is None:
        return ()
    if len(values) > MAX_FILTER_VALUES:
        raise BadRequest(f"`{what}` accepts at most {MAX_FILTER_VALUES} values")
    return tuple(values)


@dataclass(frozen=True, slots=True)
class ResourceCriteria:
    """A validated, hashable `ResourceFilter` (DataLoader keys must be hashable)."""

    providers: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    credential_id: uuid.UUID | None = None
    tags: tuple[tuple[str, str | None], ...] = ()
    search: str | None = None
    include_deleted: bool = False
    # (relation type, direction, the given resource's row id)
    related_to: tuple[str, str, uuid.UUID] | None = None

    @classmethod
    def from_input(cls, given: ResourceFilter | None) -> ResourceCriteria:
        if given is None:
            return cls()
        tags = _bounded(given.tags, "tags")
        if len(tags) > MAX_TAG_FILTERS:
            raise BadRequest(f"`tags` accepts at most {MAX_TAG_FILTERS} filters")
        for tag in tags:
            # Keys become JSON paths on SQLite; quotes and backslashes have no place in them.
            if not 0 < len(tag.key) <= MAX_TAG_KEY_CHARS or any(c in tag.key for c in '"\\'):
                raise BadRequest(
                    f"Tag keys are 1–{MAX_TAG_KEY_CHARS} characters, without quotes or backslashes"
                )
        search = (given.search or "").strip() or None
        if search is not None and len(search) > MAX_SEARCH_CHARS:
            raise BadRequest(f"`search` is limited to {MAX_SEARCH_CHARS} characters")
        credential = (
            from_global_id(given.credential_id, "CloudCredential")[1]
            if given.credential_id
            else None
        )
        related = given.related_to
        return cls(
            related_to=(
                (
                    related.type.name,
                    related.direction.name,
                    from_global_id(related.resource_id, "CloudResource")[1],
                )
                if related is not None
                else None
            ),
            providers=tuple(p.value for p in _bounded(given.provider, "provider")),
            types=tuple(t.value for t in _bounded(given.type, "type")),
            regions=_bounded(given.region, "region"),
            accounts=_bounded(given.account, "account"),
            statuses=tuple(s.value for s in _bounded(given.status, "status")),
            credential_id=credential,
            tags=tuple((t.key, t.value) for t in tags),
            search=search,
            include_deleted=bool(given.include_deleted),
        )

    def apply(self, statement: Select[Any]) -> Select[Any]:
        conditions: list[ColumnElement[bool]] = []
        if not self.include_deleted:
            conditions.append(CloudResourceRow.deleted_at.is_(None))
        if self.providers:
            conditions.append(
                CloudResourceRow.provider.in_([db_enums.Provider(p) for p in self.providers])
            )
        if self.types:
            conditions.append(
                CloudResourceRow.type.in_([db_enums.ResourceType(t) for t in self.types])
            )
        if self.regions:
            conditions.append(CloudResourceRow.region.in_(self.regions))
        if self.accounts:
            conditions.append(CloudResourceRow.account.in_(self.accounts))
        if self.statuses:
            conditions.append(
                CloudResourceRow.status.in_([db_enums.ResourceStatus(s) for s in self.statuses])
            )
        if self.credential_id is not None:
            conditions.append(CloudResourceRow.credential_id == self.credential_id)
        for key, value in self.tags:
            tag = CloudResourceRow.tags[key].as_string()
            conditions.append(tag.is_not(None) if value is None else tag == value)
        if self.search is not None:
            conditions.append(
                CloudResourceRow.name.icontains(self.search, autoescape=True)
                | CloudResourceRow.resource_id.icontains(self.search, autoescape=True)
            )
        if self.related_to is not None:
            conditions.append(_related(*self.related_to))
        return statement.where(*conditions) if conditions else statement


def _related(relation_type: str, direction: str, given_id: uuid.UUID) -> ColumnElement[bool]:
    """EXISTS a relation between the listed row and the given resource. The subquery is tied to
    the listed row's credential and owner, which the enclosing (owner-scoped) statement already
    restricts: it can never reach another user's relations or resources."""
    given = aliased(CloudResourceRow)
    rel = ResourceRelationRow
    listed_end, given_end = (
        (rel.source_resource_id, rel.target_resource_id)
        if direction == RelationDirection.OUTGOING.name
        else (rel.target_resource_id, rel.source_resource_id)
    )
    return exists().where(
        rel.credential_id == CloudResourceRow.credential_id,
        rel.user_id == CloudResourceRow.user_id,
        rel.type == db_enums.RelationType(relation_type),
        listed_end == CloudResourceRow.resource_id,
        and_(
            given.id == given_id,
            given.user_id == CloudResourceRow.user_id,
            given.credential_id == CloudResourceRow.credential_id,
            given_end == given.resource_id,
        ),
    )


def _id_key(descending: bool) -> SortKey:
    return SortKey(CloudResourceRow.id, "uuid", lambda row: row.id, descending, "id")


def resource_ordering(order: ResourceOrder | None, prefix: str = "resources") -> Ordering:
    field = order.field if order else ResourceOrderField.NAME
    descending = bool(order and order.direction == OrderDirection.DESC)
    name = f"{prefix}:{field.value}:{'DESC' if descending else 'ASC'}"
    if field == ResourceOrderField.NAME:
        keys: tuple[SortKey, ...] = (
            SortKey(CloudResourceRow.name, "str", lambda row: row.name, descending, "name"),
        )
    elif field == ResourceOrderField.LAST_SYNCED_AT:
        keys = (
            SortKey(
                CloudResourceRow.last_synced_at,
                "datetime",
                lambda r: r.last_synced_at,
                descending,
                "last_synced_at",
            ),
        )
    elif field == ResourceOrderField.FIRST_SEEN_AT:
        keys = (
            SortKey(
                CloudResourceRow.first_seen_at,
                "datetime",
                lambda r: r.first_seen_at,
                descending,
                "first_seen_at",
            ),
        )
    else:
        # NULL sorts first on SQLite and last on PostgreSQL; an explicit "unknown cost" key that
        # always sorts ascending puts them last on both, in either direction, and keeps every key
        # non-NULL so cursor comparisons stay plain.
        unknown = SortKey(
            case((CloudResourceRow.cost_per_hour.is_(None), 1), else_=0),
            "int",
            lambda row: 1 if row.cost_per_hour is None else 0,
        )
        cost = SortKey(
            func.coalesce(CloudResourceRow.cost_per_hour, 0.0),
            "float",
            lambda row: 0.0 if row.cost_per_hour is None else float(row.cost_per_hour),
            descending,
        )
        keys = (unknown, cost)
    return Ordering(name, (*keys, _id_key(descending)))
