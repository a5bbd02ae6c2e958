"""Imports point one way, down the layer order of tests/import_layers.py, and never in a cycle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.import_layers import (
    LAYERS,
    cycles,
    imports_of,
    layer_of,
    module_sources,
    upward_imports,
)

ROOT = Path(__file__).resolve().parent.parent


def _describe(found: Sequence[object]) -> str:
    return "\n".join(map(str, found))


def test_no_module_imports_a_higher_layer() -> None:
    # given every module of our packages
    imports = imports_of(module_sources(ROOT))
    # when the imports are compared with the layer order
    upward = upward_imports(imports)
    # then none points up (a TYPE_CHECKING import included)
    assert imports, "the import graph was not read"
    assert upward == [], _describe(upward)


def test_no_import_cycle() -> None:
    # given every module of our packages
    imports = imports_of(module_sources(ROOT))
    # when the imports that run are searched for cycles
    found = cycles(imports)
    # then there is none
    assert found == [], _describe(found)


def test_every_module_has_a_layer() -> None:
    # given every module of our packages
    modules = module_sources(ROOT)
    # then each belongs to a layer (a new top-level package must be placed in LAYERS)
    assert {name: layer_of(name) for name in modules}


def test_an_upward_import_is_reported() -> None:
    # given a provider that imports the GraphQL layer, even only for annotations
    sources = {
        "providers.aws": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from graph.context import Info\n",
        "graph.context": "import db.engine\n",
        "db.engine": "",
    }
    # when the imports are checked
    upward = upward_imports(imports_of(sources))
    # then exactly that import is reported, as one that does not run
    assert [(i.source, i.target, i.runs) for i in upward] == [
        ("providers.aws", "graph.context", False)
    ]


def test_the_context_importing_a_domain_is_reported() -> None:
    # given the GraphQL kernel importing a domain's loaders
    sources = {
        "graph.context": "from graph.inventory.loaders import resource_pages\n",
        "graph.inventory.loaders": "",
        "graph.inventory": "",
    }
    # when the imports are checked
    upward = upward_imports(imports_of(sources))
    # then it is an upward import
    assert [(i.source, i.target) for i in upward] == [("graph.context", "graph.inventory.loaders")]


def test_a_cycle_is_reported_and_type_checking_imports_do_not_make_one() -> None:
    # given a runtime cycle through a function-level import, and a TYPE_CHECKING back-reference
    sources = {
        "graph.context": "import graph.node\n",
        "graph.node": "def f():\n    from graph.errors import X\n",
        "graph.errors": "import graph.context\n",
        "graph.inventory.types": "import graph.credentials.types\n",
        "graph.credentials.types": "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import graph.inventory.types\n",
    }
    # when cycles are searched
    found = cycles(imports_of(sources))
    # then only the runtime one is reported
    assert found == [["graph.context", "graph.errors", "graph.node"]]


def test_the_layer_order_starts_at_the_base_and_ends_at_the_commands() -> None:
    # then settings and friends are at the bottom and the commands at the top
    assert LAYERS[0] == ("core",)
    assert LAYERS[-1] == ("stratograph",)
    assert layer_of("graph.inventory.loaders") > layer_of("graph.context")
    assert layer_of("graph.schema") > layer_of("graph.sync.types") > layer_of("sync.engine")
