"""What the read fast path takes from graphql-core, checked when it is imported.

It calls graphql-core's field collection (`collect_fields`, `collect_subfields`), which
graphql-core documents as internal, and reads the 3.3 shapes of `FragmentDetails` and
`VariableValues`. pyproject pins graphql-core to 3.3.x; this check names what changed if another
version is installed, and `PLAIN_FIELD_EXECUTION=false` serves without the fast path (the view
then never imports it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import graphql
from graphql.execution import collect_fields as collecting
from graphql.execution import values

from graph.execution import IncompatibleGraphQLCore

_FUNCTIONS: dict[str, tuple[Any, list[str]]] = {
    "collect_fields": (
        collecting.collect_fields,
        ["schema", "fragments", "variable_values", "runtime_type", "operation"],
    ),
    "collect_subfields": (
        collecting.collect_subfields,
        [
            "schema",
            "fragments",
            "variable_values",
            "operation",
            "return_type",
            "field_details_list",
        ],
    ),
    "get_variable_values": (values.get_variable_values, ["schema", "var_def_nodes", "inputs"]),
    "get_argument_values": (values.get_argument_values, ["type_def", "node", "variable_values"]),
}
_TUPLES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "FragmentDetails": (collecting.FragmentDetails, ("definition", "variable_signatures")),
    "VariableValues": (values.VariableValues, ("sources", "coerced")),
    "CollectedFields": (
        collecting.CollectedFields,
        ("grouped_field_set", "new_defer_usages", "forbidden_directive_instances"),
    ),
}


def check_compatible(
    functions: dict[str, tuple[Callable[..., Any], list[str]]] | None = None,
) -> None:
    """Raise `IncompatibleGraphQLCore` unless the functions lead with the expected parameters
    and the tuples have the expected fields."""
    changed: list[str] = []
    for name, (function, expected) in (functions or _FUNCTIONS).items():
        found = list(inspect.signature(function).parameters)[: len(expected)]
        if found != expected:
            changed.append(f"{name}{tuple(expected)} is now {tuple(found)}")
    for name, (named_tuple, fields) in _TUPLES.items():
        if named_tuple._fields != fields:
            changed.append(f"{name}{fields} is now {named_tuple._fields}")
    if changed:
        raise IncompatibleGraphQLCore(
            f"graph/inventory/fast_path was written for graphql-core 3.3; graphql-core "
            f"{graphql.__version__} changed: {'; '.join(changed)}. Set PLAIN_FIELD_EXECUTION=false "
            "to serve without the fast paths, or adapt them."
        )


check_compatible()
