"""The plain-field fast path depends on graphql-core internals: checked, pinned, switchable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.execution import IncompatibleGraphQLCore, PlainFieldExecutionContext, check_compatible
from graph.schema import app_schema, build_schema
from tests.conftest import make_settings


class _RenamedArguments(StrawberryGraphQLCoreExecutionContext):
    def execute_field(self, parent_type: Any, source: Any, field_nodes: Any, path: Any) -> Any:  # type: ignore[override]
        return None


def test_the_installed_graphql_core_has_the_internals_the_override_is_written_for() -> None:
    check_compatible()  # raises otherwise


def test_an_executor_whose_internals_changed_is_refused_with_a_clear_error() -> None:
    # when the executor's execute_field takes other arguments
    with pytest.raises(IncompatibleGraphQLCore) as refused:
        check_compatible(_RenamedArguments)
    # then the error names what changed and the way out
    message = str(refused.value)
    assert "execute_field" in message and "field_nodes" in message
    assert "PLAIN_FIELD_EXECUTION=false" in message


def test_the_setting_chooses_the_executor(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    on = app_schema(make_settings(url, tmp_path))
    off = app_schema(make_settings(url, tmp_path, plain_field_execution=False))
    assert on.execution_context_class is PlainFieldExecutionContext
    assert off.execution_context_class is not PlainFieldExecutionContext


async def test_turned_off_the_schema_serves_without_importing_the_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a graphql-core the override cannot work with (its module cannot be imported)
    monkeypatch.setitem(sys.modules, "graph.execution", None)
    # when the schema is built with the fast path off
    schema = build_schema(plain_field_execution=False)
    result = await schema.execute("{ __typename }")
    # then it serves
    assert result.errors is None and result.data == {"__typename": "Query"}


def test_the_installed_graphql_core_has_what_the_read_fast_path_calls() -> None:
    from graph.inventory.fast_path.compat import check_compatible as check_fast_path

    check_fast_path()  # raises otherwise


def test_a_changed_collection_function_is_refused_with_a_clear_error() -> None:
    from graph.inventory.fast_path.compat import check_compatible as check_fast_path

    # given a collect_fields that takes other arguments
    def collect_fields(schema: Any, fragments: Any, variables: Any) -> None:
        return None

    # when the fast path's check looks at it
    with pytest.raises(IncompatibleGraphQLCore) as refused:
        check_fast_path({"collect_fields": (collect_fields, ["schema", "fragments", "x", "y"])})
    # then it names what changed and the way out
    assert "collect_fields" in str(refused.value)
    assert "PLAIN_FIELD_EXECUTION=false" in str(refused.value)


async def test_turned_off_the_view_serves_without_importing_the_read_fast_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given a graphql-core the read fast path cannot work with (its modules cannot be imported)
    from graph.app import create_app

    monkeypatch.setitem(sys.modules, "graph.inventory.fast_path.serve", None)
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    # when the app is built with PLAIN_FIELD_EXECUTION=false
    app = create_app(make_settings(url, tmp_path, plain_field_execution=False))
    # then it builds, without a fast path
    view = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/graphql")  # type: ignore[attr-defined]
    assert view.fast_path is None
    await app.state.runtime.close()
