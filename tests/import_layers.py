"""The import graph of our packages, and the layer order it must follow.

`LAYERS` is the one place the order is written (docs/contributing.md explains it): a module may
import modules of its own layer or of a lower one, never of a higher one. Imports inside
functions count (they run); imports under `if TYPE_CHECKING:` count for the direction only, since
they exist for annotations and never run. A cycle of imports that run is refused in any layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Lowest first. An entry is a package or module prefix; a module belongs to its longest match.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),  # settings, metrics, logging, request context
    ("db",),  # models, sessions, the scoping helper, migrations
    ("security",),  # passwords, tokens, vault, rate limits, HTTP hardening
    ("providers",),  # one module per cloud, behind small option objects
    ("integrations",),  # exports and webhooks below GraphQL: the sync engine queues events
    ("sync",),  # the sync job engine: queue, runner, scheduler, store
    ("graph",),  # GraphQL kernel: context, loaders registry, Node, connections, errors, limits
    (
        "graph.accounts",
        "graph.credentials",
        "graph.inventory",
        "graph.operations",
        "graph.sync",
        "graph.webhooks",
        "graph.export",
        "graph.findings",
    ),  # domains (peers)
    ("graph.schema", "graph.app", "graph.view"),  # the schema and the ASGI app composed
    ("stratograph",),  # the commands: CLI, admin, demo, key rotation, serving
)
PACKAGES = ("core", "db", "security", "providers", "integrations", "sync", "graph", "stratograph")
# Alembic's scripts are loaded by Alembic, never imported by us.
SKIPPED = ("db/migrations/versions/",)


@dataclass(frozen=True, slots=True)
class Import:
    source: str
    target: str
    line: int
    runs: bool  # False for `if TYPE_CHECKING:` imports


def module_sources(root: Path) -> dict[str, str]:
    """Module name → source text of every module of our packages under `root`."""
    sources: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(SKIPPED):
                continue
            parts = relative.removesuffix(".py").split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            sources[".".join(parts)] = path.read_text(encoding="utf-8")
    return sources


def imports_of(sources: Mapping[str, str]) -> list[Import]:
    found: list[Import] = []
    for module, text in sources.items():
        is_package = _is_package(module, sources)
        for node, runs in _import_nodes(ast.parse(text)):
            for target in _targets(node, module, is_package, sources):
                if target.split(".")[0] in PACKAGES and target != module:
                    found.append(Import(module, target, node.lineno, runs))
    return found


def layer_of(module: str) -> int:
    best, best_length = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    if best < 0:
        raise ValueError(f"{module} is in no layer: add its package to LAYERS")
    return best


def upward_imports(imports: Iterable[Import]) -> list[Import]:
    return [i for i in imports if layer_of(i.target) > layer_of(i.source)]


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """Strongly connected groups of modules (more than one) among imports that run."""
    graph: dict[str, set[str]] = {}
    for item in imports:
        if item.runs:
            graph.setdefault(item.source, set()).add(item.target)
            graph.setdefault(item.target, set())
    return [sorted(group) for group in _strongly_connected(graph) if len(group) > 1]


def _is_package(module: str, sources: Mapping[str, str]) -> bool:
    return any(other.startswith(module + ".") for other in sources)


def _import_nodes(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, runs: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, runs))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), False)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), runs)
            else:
                visit(child, runs)

    visit(tree, True)
    return found


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, sources: Mapping[str, str]
) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    # `from pkg import name` imports the module pkg.name when there is one.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in sources else base for a in node.names]


def _strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so a deep graph cannot exhaust the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
    return groups
