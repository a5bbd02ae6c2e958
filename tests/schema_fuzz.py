"""Operations generated from the exported schema: one per string slot of every root field.

A *slot* is a path to a `String` or `ID` leaf inside a root field's arguments (input objects and
lists included). For each slot the generator builds variables that fill every required argument
with a plausible value and put the probe string at the slot, so validation and coercion pass and
the probe reaches the code behind the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_composite_type,
)

Path = tuple[str | int, ...]
Plausible = Callable[[str], Any]

SCALAR_DEFAULTS: dict[str, Any] = {"Int": 1, "Float": 1.0, "Boolean": False, "JSON": {}}


class EnumName(str):
    """An enum value: written bare in a literal, as a string in variables."""


@dataclass(frozen=True)
class Probe:
    """One root field with the probe at one slot (path starts with the argument name)."""

    operation_type: str  # "query" | "mutation"
    field: str
    slot: Path
    document: str

    def variables(self, probe: str, plausible: Plausible) -> dict[str, Any]:
        return _variables(self, probe, plausible)

    def label(self) -> str:
        return f"{self.operation_type} {self.field} {'.'.join(map(str, self.slot))}"


_fields: dict[tuple[str, str], GraphQLField] = {}


def _unwrap(type_: GraphQLInputType) -> tuple[GraphQLInputType, bool]:
    if isinstance(type_, GraphQLNonNull):
        return type_.of_type, True
    return type_, False


def _slots(type_: GraphQLInputType, path: Path, seen: frozenset[str]) -> Iterator[Path]:
    inner, _ = _unwrap(type_)
    if isinstance(inner, GraphQLList):
        yield from _slots(inner.of_type, (*path, 0), seen)
    elif isinstance(inner, GraphQLScalarType) and inner.name in ("String", "ID"):
        yield path
    elif isinstance(inner, GraphQLInputObjectType) and inner.name not in seen:
        for name, field in inner.fields.items():
            yield from _slots(field.type, (*path, name), seen | {inner.name})


def _type_literal(type_: GraphQLInputType) -> str:
    if isinstance(type_, GraphQLNonNull):
        return f"{_type_literal(type_.of_type)}!"
    if isinstance(type_, GraphQLList):
        return f"[{_type_literal(type_.of_type)}]"
    return type_.name


def probes(schema: GraphQLSchema) -> list[Probe]:
    found: list[Probe] = []
    roots = (("query", schema.query_type), ("mutation", schema.mutation_type))
    for operation_type, root in roots:
        assert isinstance(root, GraphQLObjectType)
        for name, field in root.fields.items():
            _fields[(operation_type, name)] = field
            document = _document(operation_type, name, field)
            for arg_name, arg in field.args.items():
                for slot in _slots(arg.type, (arg_name,), frozenset()):
                    found.append(Probe(operation_type, name, slot, document))
    return found


def _document(operation_type: str, name: str, field: GraphQLField) -> str:
    declarations = ", ".join(f"${a}: {_type_literal(arg.type)}" for a, arg in field.args.items())
    arguments = ", ".join(f"{a}: ${a}" for a in field.args)
    head = f"{operation_type} Probe({declarations})" if declarations else operation_type
    call = f"{name}({arguments})" if arguments else name
    returned = get_named_type(field.type)
    selection = ""
    if is_composite_type(returned):
        has_errors = isinstance(returned, GraphQLObjectType) and "userErrors" in returned.fields
        selection = " { __typename userErrors { code } }" if has_errors else " { __typename }"
    return f"{head} {{ {call}{selection} }}"


def _value(
    type_: GraphQLInputType, slot: Path | None, name: str, probe: str, plausible: Plausible
) -> Any:
    """A value of `type_`. `slot` is the rest of the probe's path inside it: `()` puts the probe
    here, None means the probe is elsewhere (only required parts are filled)."""
    inner, _ = _unwrap(type_)
    if slot == ():
        return probe
    if isinstance(inner, GraphQLList):
        return [_value(inner.of_type, slot[1:] if slot else None, name, probe, plausible)]
    if isinstance(inner, GraphQLScalarType):
        if inner.name in ("String", "ID"):
            return plausible(name)
        return SCALAR_DEFAULTS.get(inner.name)
    if isinstance(inner, GraphQLEnumType):
        return EnumName(next(iter(inner.values)))
    assert isinstance(inner, GraphQLInputObjectType)
    return _object(inner, slot, probe, plausible)


def _is_one_of(type_: GraphQLInputObjectType) -> bool:
    definition = (type_.extensions or {}).get("strawberry-definition")
    directives = getattr(definition, "directives", None) or ()
    return type_.is_one_of or any(type(d).__name__ == "OneOf" for d in directives)


def _required(field: GraphQLInputField | GraphQLArgument) -> bool:
    return isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined


def _object(
    type_: GraphQLInputObjectType, slot: Path | None, probe: str, plausible: Plausible
) -> dict[str, Any]:
    target = slot[0] if slot else None
    fields: dict[str, GraphQLInputField] = type_.fields
    if _is_one_of(type_):
        chosen = str(target) if target is not None else next(iter(fields))
        rest = slot[1:] if slot else None
        return {chosen: _value(fields[chosen].type, rest, chosen, probe, plausible)}
    value: dict[str, Any] = {}
    for field_name, field in fields.items():
        if field_name == target:
            assert slot is not None
            value[field_name] = _value(field.type, slot[1:], field_name, probe, plausible)
        elif _required(field):
            value[field_name] = _value(field.type, None, field_name, probe, plausible)
    return value


def _variables(probe_: Probe, probe: str, plausible: Plausible) -> dict[str, Any]:
    field = _fields[(probe_.operation_type, probe_.field)]
    variables: dict[str, Any] = {}
    args: dict[str, GraphQLArgument] = field.args
    for arg_name, arg in args.items():
        if arg_name == probe_.slot[0]:
            variables[arg_name] = _value(arg.type, probe_.slot[1:], arg_name, probe, plausible)
        elif _required(arg):
            variables[arg_name] = _value(arg.type, None, arg_name, probe, plausible)
    return variables
