"""`ResourceRelation` and the `CloudResource.relations` field, resolved by the relations loader."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph.context import Info
from graph.enums import RelationDirection, RelationType
from graph.errors import BadRequest
from graph.inventory.relation_loaders import (
    INCOMING,
    OUTGOING,
    RelationKey,
    RelationRow,
    relations_by_resource,
)

if TYPE_CHECKING:
    from graph.inventory.types import CloudResource

DEFAULT_RELATIONS = 50
MAX_RELATIONS = 100
_TYPES = {member.name: member for member in RelationType}
_DIRECTIONS = {member.name: member for member in RelationDirection}


@strawberry.type(description="A connection between two resources of the same credential.")
class ResourceRelation:
    type: RelationType = strawberry.field(
        description='How they connect, read from the source: "source TYPE target".'
    )
    direction: RelationDirection = strawberry.field(
        description="OUTGOING: this resource is the source; INCOMING: the other one is."
    )
    resource: Annotated[CloudResource, strawberry.lazy("graph.inventory.types")] | None = (
        strawberry.field(
            description="The resource at the other end; null when it is not (or no longer) in "
            "your inventory, e.g. an IAM instance profile that is not listed."
        )
    )
    target_resource_id: str = strawberry.field(
        description="The provider's ID (or ARN) of the resource at the other end, set even when "
        "`resource` is null."
    )


TypeArg = Annotated[
    list[RelationType] | None,
    strawberry.argument(description="Only these relation types (default: all)."),
]
DirectionArg = Annotated[
    RelationDirection | None,
    strawberry.argument(description="Only this direction (default: both)."),
]
LimitArg = Annotated[
    int,
    strawberry.argument(
        description=f"At most this many relations per direction, 1–{MAX_RELATIONS} "
        f"(default {DEFAULT_RELATIONS}); ordered by type, then the other end's ID."
    ),
]


def relation_key(
    credential_id: uuid.UUID,
    resource_id: str,
    types: list[RelationType] | None,
    direction: RelationDirection | None,
    limit: int,
) -> RelationKey:
    """The loader key of one `relations(...)` selection; bad arguments are a BAD_REQUEST."""
    if not 1 <= limit <= MAX_RELATIONS:
        raise BadRequest(f"'limit' on 'relations' must be between 1 and {MAX_RELATIONS}.")
    if types is not None and len(types) > len(_TYPES):
        raise BadRequest("'type' on 'relations' lists more values than there are types.")
    return RelationKey(
        credential_id=credential_id,
        resource_id=resource_id,
        types=tuple(sorted({t.name for t in types or ()})),
        directions=(direction.name,) if direction is not None else (OUTGOING, INCOMING),
        limit=limit,
    )


async def load_relations(info: Info, key: RelationKey) -> list[RelationRow]:
    return await info.context.loaders.get(relations_by_resource).load(key)


def relation_of(row: RelationRow, resource: CloudResource | None) -> ResourceRelation:
    return ResourceRelation(
        type=_TYPES[row.type],
        direction=_DIRECTIONS[row.direction],
        resource=resource,
        target_resource_id=row.other_resource_id,
    )
