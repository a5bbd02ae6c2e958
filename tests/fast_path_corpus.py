"""A seeded generator of `resources` operations for the fast path's differential tests.

Each operation mixes what the fast path must reproduce exactly (aliases, named and inline
fragments, `__typename` at every level, `@skip`/`@include` with literals and variables, field
merging, several root fields, every filter and ordering, literals and variables) with what it must
hand over to the regular path (resolver fields, bad cursors, out-of-range pages, bad filters).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

NODE_FIELDS = (
    "id",
    "provider",
    "type",
    "nativeType",
    "resourceId",
    "name",
    "region",
    "account",
    "status",
    "tags",
    "metadata",
    "configuration",
    "costPerHour",
    "estimatedMonthlyCost",
    "costSource",
    "firstSeenAt",
    "lastSyncedAt",
    "deletedAt",
    "__typename",
)
# Fields with resolvers: the fast path never serves an operation selecting them.
RESOLVER_FIELDS = ("credential { name }", "relations { type }")
PAGE_INFO = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename")
ORDER_FIELDS = ("NAME", "LAST_SYNCED_AT", "COST", "FIRST_SEEN_AT")


class EnumValue(str):
    """Written bare in a GraphQL literal."""


def literal(value: Any) -> str:
    if isinstance(value, EnumValue):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    return "{" + ", ".join(f"{key}: {literal(item)}" for key, item in value.items()) + "}"


def plain(value: Any) -> Any:
    """The JSON form of a value for the variables."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return str(value) if isinstance(value, EnumValue) else value


@dataclass
class Operation:
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    operation_name: str | None = None


@dataclass
class _Builder:
    rnd: random.Random
    cursors: list[str]
    credential_ids: list[str]
    definitions: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    fragments: list[str] = field(default_factory=list)
    counter: int = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def value(self, graphql_type: str, value: Any) -> str:
        """A literal, or a variable carrying the value."""
        if self.rnd.random() < 0.45:
            variable = self.name("v")
            self.definitions.append(f"${variable}: {graphql_type}")
            self.variables[variable] = plain(value)
            return f"${variable}"
        return literal(value)

    def condition(self) -> str:
        roll = self.rnd.random()
        if roll < 0.8:
            return ""
        directive = self.rnd.choice(("skip", "include"))
        if self.rnd.random() < 0.5:
            return f" @{directive}(if: {literal(self.rnd.random() < 0.5)})"
        variable = self.name("c")
        self.definitions.append(f"${variable}: Boolean!")
        self.variables[variable] = self.rnd.random() < 0.5
        return f" @{directive}(if: ${variable})"

    def alias(self, name: str) -> str:
        return f"{self.name('a')}: {name}" if self.rnd.random() < 0.2 else name

    def node(self) -> str:
        fields = self.rnd.sample(NODE_FIELDS, self.rnd.randint(1, 8))
        parts = [f"{self.alias(name)}{self.condition()}" for name in fields]
        if self.rnd.random() < 0.08:
            parts.append(self.rnd.choice(RESOLVER_FIELDS))
        roll = self.rnd.random()
        if roll < 0.15:
            fragment = self.name("F")
            self.fragments.append(f"fragment {fragment} on CloudResource {{ {' '.join(parts)} }}")
            return f"...{fragment}{self.condition()} id"
        if roll < 0.25:
            return f"... on CloudResource {{ {' '.join(parts)} }}"
        if roll < 0.3:
            return f"... on Node {{ id }} {' '.join(parts)}"
        return " ".join(parts)

    def connection(self) -> str:
        parts: list[str] = []
        if self.rnd.random() < 0.85:
            edge = [f"node {{ {self.node()} }}"]
            if self.rnd.random() < 0.6:
                edge.append(f"{self.alias('cursor')}{self.condition()}")
            if self.rnd.random() < 0.1:
                edge.append("__typename")
            self.rnd.shuffle(edge)
            parts.append(f"{self.alias('edges')} {{ {' '.join(edge)} }}")
            if self.rnd.random() < 0.1:  # merged with a second selection of the same field
                parts.append(f"edges {{ node {{ {self.node()} }} }}")
        if self.rnd.random() < 0.6:
            info = self.rnd.sample(PAGE_INFO, self.rnd.randint(1, len(PAGE_INFO)))
            parts.append(f"pageInfo{self.condition()} {{ {' '.join(info)} }}")
        if self.rnd.random() < 0.2:
            parts.append("totalCount")
        if self.rnd.random() < 0.1 or not parts:
            parts.append("__typename")
        return " ".join(parts)

    def page_arguments(self) -> str:
        arguments: list[str] = []
        rnd = self.rnd
        backwards = rnd.random() < 0.2
        size_name = "last" if backwards else "first"
        roll = rnd.random()
        if roll < 0.8:
            size = (
                rnd.choice((1, 2, 3, 5, 10, 100))
                if rnd.random() < 0.85
                else rnd.choice((0, 101, -1))
            )
            arguments.append(f"{size_name}: {self.value('Int', size)}")
        elif roll < 0.85:
            arguments.append(f"{size_name}: null")
        if rnd.random() < 0.03:
            arguments.append(f"{'first' if backwards else 'last'}: 2")  # both: refused
        if rnd.random() < 0.35:
            cursor_name = "before" if backwards else "after"
            cursor = rnd.choice(self.cursors) if self.cursors else "x"
            pick = rnd.random()
            if pick < 0.1:
                cursor = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")  # tampered
            elif pick < 0.15:
                cursor = "not-a-cursor"
            arguments.append(f"{cursor_name}: {self.value('String', cursor)}")
        if rnd.random() < 0.5:
            arguments.append(f"filter: {self.value('ResourceFilter', self.filter())}")
        if rnd.random() < 0.4:
            order = {
                "field": EnumValue(rnd.choice(ORDER_FIELDS)),
                "direction": EnumValue(rnd.choice(("ASC", "DESC"))),
            }
            if rnd.random() < 0.2:
                order.pop(rnd.choice(("field", "direction")))
            arguments.append(f"orderBy: {self.value('ResourceOrder', order)}")
        return f"({', '.join(arguments)})" if arguments else ""

    def filter(self) -> dict[str, Any]:
        rnd = self.rnd
        chosen: dict[str, Any] = {}
        if rnd.random() < 0.3:
            chosen["provider"] = [EnumValue(p) for p in rnd.sample(("AWS", "GCP", "AZURE"), 2)]
        if rnd.random() < 0.3:
            chosen["type"] = [EnumValue(rnd.choice(("VM", "STORAGE", "NETWORK")))]
        if rnd.random() < 0.3:
            chosen["region"] = rnd.sample(("us-east-1", "eu-west-1", "global"), rnd.randint(1, 2))
        if rnd.random() < 0.3:
            chosen["status"] = [EnumValue(rnd.choice(("RUNNING", "STOPPED", "UNKNOWN")))]
        if rnd.random() < 0.3:
            chosen["search"] = rnd.choice(("res-0001", "%", "_", "", "  ", "A%B", "x" * 201, "i-0"))
        if rnd.random() < 0.25:
            key = rnd.choice(("env", "team", 'bad"key', ""))
            tag: dict[str, Any] = {"key": key}
            if rnd.random() < 0.5:
                tag["value"] = rnd.choice(("prod", "dev", None))
            chosen["tags"] = [tag]
        if rnd.random() < 0.25:
            chosen["includeDeleted"] = rnd.choice((True, False, None))
        if rnd.random() < 0.15:
            chosen["credentialId"] = rnd.choice([*self.credential_ids, "garbage"])
        return chosen


def operation(rnd: random.Random, cursors: list[str], credential_ids: list[str]) -> Operation:
    builder = _Builder(rnd, cursors, credential_ids)
    roots: list[str] = []
    for _ in range(2 if rnd.random() < 0.15 else 1):
        key = builder.name("r") + ": resources" if rnd.random() < 0.3 or roots else "resources"
        roots.append(f"{key}{builder.page_arguments()} {{ {builder.connection()} }}")
    if rnd.random() < 0.1:
        roots.append("__typename")
    if rnd.random() < 0.03:
        roots.append("me { email }")  # another root field: the regular path's
    name = rnd.choice((None, "Page", "Listing")) if rnd.random() < 0.4 else None
    header = "query"
    if name:
        header += f" {name}"
    if builder.definitions:
        header += f"({', '.join(builder.definitions)})"
    elif not name and rnd.random() < 0.3:
        header = ""  # shorthand query
    query = f"{header} {{ {' '.join(roots)} }} {' '.join(builder.fragments)}".strip()
    return Operation(query, builder.variables, name)
