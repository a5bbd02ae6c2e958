"""The `inventoryChanges` feed: every change syncs found in your inventory, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select

from db import enums as db_enums
from db.models import ResourceChangeRow
from graph.connections.keyset import PageRequest
from graph.connections.types import AfterArg, BeforeArg, FirstArg, LastArg, paginate
from graph.context import Info
from graph.enums import ResourceType
from graph.errors import BadRequest
from graph.inventory.history import ResourceChangeConnection, ResourceChangeKind
from graph.inventory.history_loaders import CHANGE_COLUMNS, history_ordering
from graph.node import from_global_id
from graph.permissions import IsAuthenticated

FEED_ORDERING = history_ordering("inventoryChanges")


@strawberry.input(description="Which inventory changes to list; every given condition must hold.")
class ResourceChangeFilter:
    since: datetime | None = strawberry.field(
        default=None, description="Changes at or after this instant (with a time zone, e.g. 'Z')."
    )
    kind: list[ResourceChangeKind] | None = strawberry.field(
        default=None, description="Any of these kinds."
    )
    credential_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only changes found with this credential."
    )
    resource_type: list[ResourceType] | None = strawberry.field(
        default=None, description="Only changes of resources of these categories."
    )


@dataclass(frozen=True, slots=True)
class ChangeCriteria:
    """A validated `ResourceChangeFilter`; a malformed condition is a BAD_REQUEST before any SQL."""

    since: datetime | None = None
    kinds: tuple[db_enums.ResourceChangeKind, ...] = ()
    credential_id: uuid.UUID | None = None
    types: tuple[db_enums.ResourceType, ...] = ()

    @classmethod
    def from_input(cls, given: ResourceChangeFilter | None) -> ChangeCriteria:
        if given is None:
            return cls()
        if given.since is not None and given.since.tzinfo is None:
            raise BadRequest("filter.since needs a time zone, e.g. '2026-01-31T00:00:00Z'")
        credential = (
            from_global_id(str(given.credential_id), "CloudCredential")[1]
            if given.credential_id is not None
            else None
        )
        return cls(
            since=given.since,
            # Both lists are bounded by their enums: duplicates collapse.
            kinds=tuple(sorted({db_enums.ResourceChangeKind(k.name) for k in given.kind or ()})),
            credential_id=credential,
            types=tuple(sorted({db_enums.ResourceType(t.name) for t in given.resource_type or ()})),
        )

    def apply(self, statement: Select[Any]) -> Select[Any]:
        if self.since is not None:
            statement = statement.where(ResourceChangeRow.at >= self.since)
        if self.kinds:
            statement = statement.where(ResourceChangeRow.kind.in_(self.kinds))
        if self.credential_id is not None:
            statement = statement.where(ResourceChangeRow.credential_id == self.credential_id)
        if self.types:
            statement = statement.where(ResourceChangeRow.type.in_(self.types))
        return statement


@strawberry.type
class HistoryQueries:
    @strawberry.field(
        description="What syncs found changed in your inventory, newest first: created, "
        "updated, deleted and restored resources, with the fields that changed (kept for "
        "HISTORY_RETENTION_DAYS).",
        permission_classes=[IsAuthenticated],
    )
    async def inventory_changes(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: Annotated[
            ResourceChangeFilter | None,
            strawberry.argument(description="Conditions (default: every change)."),
        ] = None,
    ) -> ResourceChangeConnection:
        request = PageRequest.from_args(first, after, last, before)
        criteria = ChangeCriteria.from_input(filter)
        scope = info.context.db.scope
        statement = criteria.apply(scope.select_columns(ResourceChangeRow, *CHANGE_COLUMNS))
        count = criteria.apply(scope.count(ResourceChangeRow))
        page, count_fn = await paginate(info, statement, count, FEED_ORDERING, request)
        return ResourceChangeConnection.from_page(page, count_fn)
