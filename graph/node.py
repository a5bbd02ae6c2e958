"""Relay `Node`: opaque global IDs and the `node(id:)` lookup, which never leaks existence."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import strawberry

from graph.errors import BadRequest

if TYPE_CHECKING:
    from graph.context import Info

NodeResolver = Callable[["Info", uuid.UUID], Awaitable[Any]]
_RESOLVERS: dict[str, NodeResolver] = {}


@strawberry.interface(name="Node", description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's opaque global ID.")


def to_global_id(type_name: str, local_id: uuid.UUID) -> strawberry.ID:
    raw = f"{type_name}:{local_id}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def from_global_id(global_id: str, expected_type: str | None = None) -> tuple[str, uuid.UUID]:
    """Decode a global ID; a malformed one (or one of another type) is a BAD_REQUEST."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, local = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        local_id = uuid.UUID(local)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The value is not a valid ID") from exc
    if expected_type is not None and type_name != expected_type:
        raise BadRequest(f"The ID is not the ID of a {expected_type}")
    return type_name, local_id


def register_node(type_name: str, resolver: NodeResolver) -> None:
    """Domain packages register how to load their Node types, scoped to the caller."""
    if type_name in _RESOLVERS:
        raise RuntimeError(f"Node type {type_name} registered twice")
    _RESOLVERS[type_name] = resolver


async def resolve_node(info: Info, global_id: str) -> Node | None:
    type_name, local_id = from_global_id(global_id)
    resolver = _RESOLVERS.get(type_name)
    if resolver is None or info.context.user is None:
        return None
    result: Node | None = await resolver(info, local_id)
    return result
