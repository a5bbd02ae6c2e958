"""Writing Strawberry objects of plain fields straight to JSON values, selection compiled once.

For roots whose few objects are built by the regular path's own functions (the dashboard's
totals, a credential from its row): each selected field must be a plain attribute (Strawberry's
default resolver, no arguments) of a concrete object type, or `__typename`; leaves are coerced by
the schema's own scalars and enums (`coerce_output_value`, what graphql-core calls). Anything else
is `Unsupported`, and a value graphql-core would report (a null in a non-null field, a value a
scalar refuses) raises `Unwritable`, so the regular path answers instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetails

from graph.inventory.fast_path.output import Unwritable
from graph.inventory.fast_path.plan import Collecting, Unsupported

Write = Callable[[Any], Any]
_DEFINITION = "strawberry-definition"


def plain_attribute(object_type: GraphQLObjectType, name: str) -> str | None:
    """The Python attribute a plain field reads; None for a resolver or an argument."""
    field_def = object_type.fields.get(name)
    if field_def is None or field_def.args or not getattr(field_def.resolve, "_is_default", False):
        return None
    return getattr((field_def.extensions or {}).get(_DEFINITION), "python_name", None)


def object_steps(
    collecting: Collecting, object_type: GraphQLObjectType, group: list[FieldDetails]
) -> list[tuple[str, str | None, Write]]:
    """(response key, attribute or None for `__typename`, its writer) per selected field."""
    steps: list[tuple[str, str | None, Write]] = []
    for key, name, sub_group in collecting.subfields(object_type.name, group):
        if name == "__typename":
            steps.append((key, None, constant(object_type.name)))
            continue
        attribute = plain_attribute(object_type, name)
        if attribute is None or any(details.node.arguments for details in sub_group):
            raise Unsupported
        steps.append(
            (key, attribute, value_writer(collecting, object_type.fields[name].type, sub_group))
        )
    return steps


def value_writer(
    collecting: Collecting, type_: GraphQLOutputType, group: list[FieldDetails]
) -> Write:
    """The writer of a value of `type_` (its selection `group` for objects)."""
    if isinstance(type_, GraphQLNonNull):
        inner = value_writer(collecting, type_.of_type, group)

        def required(value: Any) -> Any:
            if value is None:
                raise Unwritable
            return inner(value)

        return required
    if isinstance(type_, GraphQLList):
        item = value_writer(collecting, type_.of_type, group)
        return lambda value: None if value is None else [item(entry) for entry in value]
    if isinstance(type_, GraphQLLeafType):
        return _leaf(type_)
    if isinstance(type_, GraphQLObjectType):
        return object_writer(collecting, type_, group)
    raise Unsupported  # interfaces and unions need type resolution


def object_writer(
    collecting: Collecting, object_type: GraphQLObjectType, group: list[FieldDetails]
) -> Write:
    steps = object_steps(collecting, object_type, group)
    origin = getattr((object_type.extensions or {}).get(_DEFINITION), "origin", None)
    if origin is None:
        raise Unsupported

    def write(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, origin):
            raise Unwritable
        return {
            key: finish(None if attribute is None else getattr(value, attribute))
            for key, attribute, finish in steps
        }

    return write


def constant(value: str) -> Write:
    """The writer of `__typename`: the same value whatever the object."""
    return lambda _: value


def _leaf(type_: GraphQLLeafType) -> Write:
    coerce = type_.coerce_output_value

    def write(value: Any) -> Any:
        if value is None:
            return None
        try:
            coerced = coerce(value)
        except Exception as error:  # graphql-core reports it as a field error
            raise Unwritable from error
        if coerced is Undefined or coerced is None:
            raise Unwritable
        return coerced

    return write
