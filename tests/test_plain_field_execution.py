"""The plain-field fast path returns exactly what graphql-core's regular execution returns."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from graph.execution import PlainFieldExecutionContext


@strawberry.enum(description="A kind.")
class Kind(Enum):
    A = "a"
    B = "b"


@strawberry.type(description="Inner.")
class Inner:
    label: str
    weight: float | None


@strawberry.type(description="Item.")
class Item:
    id: strawberry.ID
    name: str
    maybe: str | None
    kind: Kind
    inner: Inner | None
    inners: list[Inner]
    required: str  # some items break this on purpose (None), to compare errors

    @strawberry.field  # a resolver field: always the regular path
    def shout(self, suffix: str = "!") -> str:
        return self.name.upper() + suffix


ITEMS = [
    Item(
        id=strawberry.ID("1"),
        name="one",
        maybe=None,
        kind=Kind.A,
        inner=Inner(label="x", weight=1.5),
        inners=[Inner(label="p", weight=None), Inner(label="q", weight=2.0)],
        required="yes",
    ),
    Item(
        id=strawberry.ID("2"),
        name="two",
        maybe="m",
        kind=Kind.B,
        inner=None,
        inners=[],
        required=None,  # type: ignore[arg-type]
    ),
]


@strawberry.type(description="Values the regular path refuses to serialize.")
class Broken:
    count: int | None
    ratio: float | None
    kind: Kind | None


@strawberry.type(description="Root.")
class Query:
    broken: Broken = strawberry.field(
        default_factory=lambda: Broken(count=2**40, ratio=float("nan"), kind="not a kind")  # type: ignore[arg-type]
    )
    items: list[Item | None] = strawberry.field(default_factory=lambda: ITEMS)

    @strawberry.field  # an async root field, like the API's connections
    async def later(self) -> list[Item]:
        return ITEMS[:1]


class ResolveHook(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        result = _next(root, info, *args, **kwargs)
        return result.upper() if isinstance(result, str) and info.field_name == "name" else result


QUERIES = [
    "{ items { id name maybe kind inner { label weight } inners { label weight } } }",
    "{ items { __typename alias: name inner { __typename } ...F } } fragment F on Item { kind }",
    '{ items { name shout(suffix: "?") } }',
    "query($yes: Boolean!) { items { name @include(if: $yes) maybe @skip(if: $yes) } }",
    "{ items { name required } }",
    "{ later { name inners { label } } }",
    "{ broken { count ratio kind } }",
]


def _schema(fast: bool, extensions: list[Any] | None = None) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        execution_context_class=PlainFieldExecutionContext if fast else None,
        extensions=extensions or [],
    )


@pytest.mark.parametrize("query", QUERIES)
async def test_fast_path_matches_regular_execution(query: str) -> None:
    # given the same schema with and without the fast path
    regular, fast = _schema(fast=False), _schema(fast=True)
    # when the same query runs on both
    expected = await regular.execute(query, variable_values={"yes": True}, root_value=Query())
    actual = await fast.execute(query, variable_values={"yes": True}, root_value=Query())
    # then data and errors (messages and paths) are identical
    assert expected.data is not None
    assert actual.data == expected.data
    assert [(e.message, e.path) for e in actual.errors or []] == [
        (e.message, e.path) for e in expected.errors or []
    ]


async def test_non_null_violation_still_reports_the_regular_error() -> None:
    result = await _schema(fast=True).execute("{ items { required } }", root_value=Query())
    assert result.data == {"items": [{"required": "yes"}, None]}
    assert result.errors is not None
    assert result.errors[0].path == ["items", 1, "required"]


async def test_middleware_extensions_still_see_every_field() -> None:
    result = await _schema(fast=True, extensions=[ResolveHook]).execute(
        "{ items { name } }", root_value=Query()
    )
    assert result.data == {"items": [{"name": "ONE"}, {"name": "TWO"}]}


async def test_plain_subtrees_skip_the_per_field_machinery(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a counter on graphql-core's per-field entry point
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext as Base

    calls = {"n": 0}
    original = Base.execute_field

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Base, "execute_field", counting)
    query = QUERIES[0]
    # when the same query runs without and with the fast path
    await _schema(fast=False).execute(query, root_value=Query())
    regular = calls["n"]
    calls["n"] = 0
    await _schema(fast=True).execute(query, root_value=Query())
    # then the fast path never enters it: every field of this query is a plain attribute
    assert regular > 10
    assert calls["n"] == 0
