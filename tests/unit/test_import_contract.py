"""The walls between the package's layers, checked on the import graph (grimp, the library behind import-linter).

- The actions, the report and the ``ecsdeploy`` command import no pytest, pluggy or xdist: any program can drive
  them, and the command starts without the test framework.
- The embedded local AWS imports nothing of the product but its errors and the shared TOML reader, so it can run
  (and be upgraded with moto) on its own; its seam into moto's internals (``moto_state``) imports nothing of ours.
- No import cycle anywhere in the package. Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

from collections.abc import Iterator

import grimp
import pytest

PACKAGE = "pytest_ecsdeploy"
EMULATOR = f"{PACKAGE}.emulator"
# What the emulator may import of the product, besides itself.
EMULATOR_MAY_IMPORT = frozenset({f"{PACKAGE}.errors", f"{PACKAGE}.tomlfile"})
PYTEST_WORLD = ("pytest", "_pytest", "pluggy", "xdist")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        PACKAGE, include_external_packages=True, exclude_type_checking_imports=True, cache_dir=None
    )


@pytest.mark.parametrize("layer", [f"{PACKAGE}.actions", f"{PACKAGE}.report", f"{PACKAGE}.cli"])
def test_layer_imports_no_test_framework(graph: grimp.ImportGraph, layer: str) -> None:
    reached = graph.find_upstream_modules(layer, as_package=True)
    assert sorted(reached & set(PYTEST_WORLD)) == []


def test_the_graph_sees_imports_of_the_test_framework(graph: grimp.ImportGraph) -> None:
    """The rule above could not fail if external packages were missing from the graph."""
    assert "pytest" in graph.find_upstream_modules(f"{PACKAGE}.plugin")


def test_emulator_reaches_only_errors_and_the_toml_reader(graph: grimp.ImportGraph) -> None:
    """Directly or through another module: what the TOML reader imports counts too."""
    reached = graph.find_upstream_modules(EMULATOR, as_package=True)
    product = {m for m in reached if m.startswith(f"{PACKAGE}.")}
    assert sorted(product - EMULATOR_MAY_IMPORT) == []
    assert f"{PACKAGE}.errors" in product  # the rule reads the package's imports at all


def test_the_seam_into_moto_imports_nothing_of_the_product(graph: grimp.ImportGraph) -> None:
    """The moto_state package stands alone: the rollout engine implements its protocol, it imports no engine."""
    reached = graph.find_upstream_modules(f"{EMULATOR}.moto_state", as_package=True)
    assert sorted(m for m in reached if m.startswith(f"{PACKAGE}.")) == []
    assert "moto" in reached  # the graph sees the package's imports at all


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    ours = {m for m in graph.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")}
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if i in ours} for m in ours}
    cycles = [sorted(c) for c in _strongly_connected(edges) if len(c) > 1]
    assert cycles == []


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(sorted(c) for c in _strongly_connected(edges) if len(c) > 1) == [["a", "b", "c"]]


def _strongly_connected(edges: dict[str, set[str]]) -> Iterator[set[str]]:
    """Tarjan's algorithm, iterative: the strongly connected components of a directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                yield component
