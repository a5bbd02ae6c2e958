"""A faster execution of plain-attribute subtrees (the hot path of every list the API returns).

graphql-core executes each field of each row through the same general machinery: a `Path`, a
resolve-info object, the resolver wrapper, awaitable checks, then value completion. For a page of
100 resources with 12 fields that is ~1,500 trips through it, and it dominates the request (see
`bench/read_api.py`). Most of those fields are plain attributes of plain objects, for which all
that work cannot change the result.

So, per request, each field whose whole selection is plain (Strawberry's default attribute
resolver, no arguments, no directives, concrete object types, scalar/enum leaves) is compiled
once into a small function that reads attributes and coerces leaves directly. Anything else — a
resolver, an argument, an interface, `@defer`/`@stream`, a middleware — takes the regular path.
When a compiled field meets something unexpected (a null in a non-null field, a coercion error,
an object of another type), it gives up and the regular path re-runs that field, so errors, null
bubbling and their paths stay exactly graphql-core's.

The override reaches into graphql-core's executor (`execute_field`, `collect_subfields`, field
details), which graphql-core does not promise to keep: pyproject pins its minor version, the
signatures are checked when this module is imported, and `PLAIN_FIELD_EXECUTION=false` builds the
schema without it (the module is then not imported at all).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import graphql
from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Undefined,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetails
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Compiled = Callable[[Any], Any]
_DEFINITION = "strawberry-definition"

# What the override relies on, as graphql-core 3.3 defines it.
_OVERRIDDEN: dict[str, list[str]] = {
    "execute_field": [
        *("self", "parent_type", "source", "field_details_list", "path", "position_context")
    ],
    "collect_subfields": ["self", "return_type", "field_details_list"],
}
_TUPLES: dict[type[Any], tuple[str, ...]] = {
    CollectedFields: ("grouped_field_set", "new_defer_usages", "forbidden_directive_instances"),
    FieldDetails: ("node", "defer_usage", "fragment_variable_values"),
}


class IncompatibleGraphQLCore(ImportError):
    """The installed graphql-core no longer has the internals the fast path overrides."""


def check_compatible(base: type = StrawberryGraphQLCoreExecutionContext) -> None:
    """Raise `IncompatibleGraphQLCore`, naming what changed, unless `base` still has the
    methods and tuples the override is written against."""
    changed: list[str] = []
    for name, expected in _OVERRIDDEN.items():
        method = getattr(base, name, None)
        found = list(inspect.signature(method).parameters) if callable(method) else None
        if found != expected:
            changed.append(f"{name}{tuple(expected)} is now {found}")
    for named_tuple, fields in _TUPLES.items():
        if named_tuple._fields != fields:
            changed.append(f"{named_tuple.__name__}{fields} is now {named_tuple._fields}")
    if not any(
        "middleware_manager" in vars(klass).get("__annotations__", {}) for klass in base.__mro__
    ):
        changed.append("the executor has no middleware_manager")
    if changed:
        raise IncompatibleGraphQLCore(
            f"graph/execution.py was written for graphql-core 3.3; graphql-core "
            f"{graphql.__version__} changed: {'; '.join(changed)}. Set PLAIN_FIELD_EXECUTION=false "
            "to serve without the fast path, or adapt the override."
        )


check_compatible()


class _GiveUp(Exception):
    """The compiled path cannot produce this value; the regular path will."""


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to produce one field from its parent object."""

    attribute: str | None  # None: the value is `constant` (`__typename`)
    complete: Compiled
    passthrough: type | None  # values of exactly this type need no completion (strings)
    constant: Any = None

    def read(self, source: Any) -> Any:
        if self.attribute is None:
            return self.constant
        return self.complete(getattr(source, self.attribute))


class PlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (parent type name, id of the field group) -> compiled field; the group is kept alive in
        # the value so its id cannot be reused during this execution.
        self._compiled: dict[tuple[str, int], tuple[Any, _Plan | None]] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager
        # A middleware (a Strawberry extension with a `resolve` hook) must see every field.
        if manager is None or not manager.middlewares:
            plan = self._field(parent_type, field_details_list)
            if plan is not None:
                try:
                    return plan.read(source)
                except Exception:  # noqa: S110 - the regular path below reports it properly
                    pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _field(self, parent_type: GraphQLObjectType, group: Any) -> _Plan | None:
        key = (parent_type.name, id(group))
        cached = self._compiled.get(key)
        if cached is None:
            cached = (group, self._compile_field(parent_type, group))
            self._compiled[key] = cached
        return cached[1]

    def _compile_field(self, parent_type: GraphQLObjectType, group: Any) -> _Plan | None:
        first = group[0].node
        name = first.name.value
        if any(details.node.directives or details.node.arguments for details in group):
            return None
        if name == "__typename":
            return _Plan(None, _identity, None, parent_type.name)
        field_def = self.schema.get_field(parent_type, name)
        if field_def is None or field_def.args:
            return None
        if not getattr(field_def.resolve, "_is_default", False):
            return None  # a resolver, permission classes or field extensions
        definition = (field_def.extensions or {}).get(_DEFINITION)
        python_name = getattr(definition, "python_name", None)
        if python_name is None:
            return None
        complete = self._compile_value(field_def.type, group)
        if complete is None:
            return None
        leaf = field_def.type
        leaf = leaf.of_type if isinstance(leaf, GraphQLNonNull) else leaf
        passthrough = str if getattr(leaf, "name", None) in _STRINGS else None
        return _Plan(python_name, complete, passthrough)

    def _compile_value(self, type_: GraphQLOutputType, group: Any) -> Compiled | None:
        """Completion of a nullable value of `type_`; `None` when it must take the regular path."""
        if isinstance(type_, GraphQLNonNull) and isinstance(type_.of_type, GraphQLLeafType):
            return _leaf(type_.of_type, nullable=False)
        if isinstance(type_, GraphQLNonNull):
            inner = self._compile_value(type_.of_type, group)
            if inner is None:
                return None

            def non_null(value: Any) -> Any:
                if value is None:
                    raise _GiveUp
                return inner(value)

            return non_null
        if isinstance(type_, GraphQLList):
            item = self._compile_value(type_.of_type, group)
            if item is None:
                return None
            return lambda value: None if value is None else [item(entry) for entry in value]
        if isinstance(type_, GraphQLLeafType):
            return _leaf(type_, nullable=True)
        if isinstance(type_, GraphQLObjectType):
            return self._compile_object(type_, group)
        return None  # interfaces and unions need type resolution

    def _compile_object(self, type_: GraphQLObjectType, group: Any) -> Compiled | None:
        grouped, new_defer_usages, forbidden = self.collect_subfields(type_, group)
        if new_defer_usages or forbidden:
            return None
        steps: list[tuple[str, str | None, type | None, Compiled, Any]] = []
        for response_name, sub_group in grouped.items():
            plan = self._field(type_, sub_group)
            if plan is None:
                return None
            steps.append(
                (response_name, plan.attribute, plan.passthrough, plan.complete, plan.constant)
            )
        origin = getattr((type_.extensions or {}).get(_DEFINITION), "origin", None)
        if origin is None:
            return None

        # The per-row loop of every list: kept flat, strings pass through without a call.
        def complete(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, origin):
                raise _GiveUp
            result = {}
            for key, attribute, passthrough, finish, constant in steps:
                if attribute is None:
                    result[key] = constant
                    continue
                item = getattr(value, attribute)
                result[key] = item if type(item) is passthrough else finish(item)
            return result

        return complete


_STRINGS = frozenset({GraphQLString.name, GraphQLID.name})
# Values these scalars return unchanged when they already have exactly this Python type.
_IDENTITY: dict[str, type] = {
    GraphQLString.name: str,
    GraphQLID.name: str,
    GraphQLInt.name: int,
    GraphQLFloat.name: float,
    GraphQLBoolean.name: bool,
}


def _leaf(type_: GraphQLLeafType, *, nullable: bool) -> Compiled:
    coerce = type_.coerce_output_value
    exact = _IDENTITY.get(type_.name)
    # Enum values repeat on every row; their coercion is a pure function of the member. Keyed by
    # identity (members are singletons; the entry keeps its value alive): `Enum.__hash__` is
    # Python code, `id` is not.
    memo: dict[int, tuple[Any, Any]] | None = {} if isinstance(type_, GraphQLEnumType) else None

    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _GiveUp
        if exact is not None and type(value) is exact:
            number: Any = value
            if (exact is int and not -(2**31) <= number < 2**31) or (
                exact is float and not math.isfinite(number)
            ):
                raise _GiveUp  # not representable: let the regular path report it
            return value
        if memo is not None:
            known = memo.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
        coerced = coerce(value)
        if coerced is Undefined or coerced is None:
            raise _GiveUp
        if memo is not None:
            memo[id(value)] = (value, coerced)
        return coerced

    return complete
