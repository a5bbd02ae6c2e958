"""Relay `Node`: opaque global IDs and the `node(id:)` lookup, which never leaks existence."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Self

import strawberry

from graph.errors import BadRequest

if TYPE_CHECKING:
    from graph.context import Info


@strawberry.interface(name="Node", description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's opaque global ID.")

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> Self | None:
        """The caller's object of this type with this id, or None: never another owner's."""
        raise NotImplementedError(f"{cls.__name__} does not say how to load itself")


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


@cache
def global_id_encoder(type_name: str) -> Callable[[uuid.UUID], str]:
    """`to_global_id` for one type: every node of every page gets an ID, so this is kept to a
    few C calls (binascii and one translate)."""
    prefix = f"{type_name}:"
    b2a = binascii.b2a_base64

    def encode(local_id: uuid.UUID) -> str:
        raw = (prefix + str(local_id)).encode()
        return b2a(raw, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()

    return encode


def to_global_id(type_name: str, local_id: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(global_id_encoder(type_name)(local_id))


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


def node_type(info: Info, type_name: str) -> type[Node] | None:
    """The Node type of the schema with this GraphQL name; the schema itself is the registry."""
    definition = info.schema.get_type_by_name(type_name)
    origin = getattr(definition, "origin", None)
    if isinstance(origin, type) and issubclass(origin, Node) and origin is not Node:
        return origin
    return None


async def resolve_node(info: Info, global_id: str) -> Node | None:
    """`node(id:)`: None for anonymous callers, unknown types and anything not the caller's."""
    type_name, local_id = from_global_id(global_id)
    found = node_type(info, type_name)
    if found is None or info.context.user is None:
        return None
    return await found.resolve_node(info, local_id)


async def related_node(info: Info, type_name: str, local_id: uuid.UUID) -> Any:
    """The Node a foreign key points to (e.g. a resource's credential), loaded by its own type.

    Going through the schema rather than an import lets two domains reference each other's
    types without an import cycle.
    """
    found = node_type(info, type_name)
    node = None if found is None else await found.resolve_node(info, local_id)
    if node is None:  # the foreign key makes this impossible short of a concurrent delete
        raise LookupError(f"a {type_name} referenced by a visible row is not visible")
    return node
