"""The package imports one way: no cycles between modules, and the layers only look down.

The graph is read from the source with ``ast`` (nothing is imported): every ``import`` /
``from ... import`` in a module, function-level and ``TYPE_CHECKING`` ones included, relative
imports resolved. ``from featherpose.x import y`` is an edge to ``featherpose.x.y`` when that is a
module, else to ``featherpose.x``. A package's ``__init__`` is its own node (``featherpose.models``)
and is not implied by importing one of its submodules, so re-exporting ``__init__`` files do not
make every sibling a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "featherpose"

# Cycles allowed for now, each as the sorted set of its modules, with the reason (empty: none left).
KNOWN_CYCLES: dict[frozenset[str], str] = {}

# Layer breaks allowed for now: (module, the layer it imports) -> why. Remove an entry once fixed.
KNOWN_LAYER_BREAKS: dict[tuple[str, str], str] = {}

# layer -> what it must not import. A layer is a module name or a package prefix.
_UPPER = tuple(f"featherpose.{m}" for m in ("inference", "deploy", "engine", "commands", "cli"))
FORBIDDEN = {
    # deploy reads weights through featherpose.engine.checkpoint (the one home of weights-file IO)
    "featherpose.deploy": ("featherpose.inference", "featherpose.commands", "featherpose.cli"),
    "featherpose.models": _UPPER,
    "featherpose.nn": _UPPER,
    "featherpose.codecs": _UPPER,
    "featherpose.data": _UPPER,
    "featherpose.preprocess": _UPPER,  # network-input preprocessing shared by inference and deploy
}


def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a (possibly relative) ``from`` import in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``module`` imports (anywhere in its body)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(name: str) -> None:
        while name and name not in known:  # "featherpose.x.func" -> "featherpose.x"
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each with one cycle
    through it spelled out (``a -> b -> ... -> a``)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth is bounded by the module count (~150)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def one_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component."""
    members, start = set(comp), comp[0]
    prev: dict[str, str] = {}
    queue = [start]
    for v in queue:
        for w in sorted(graph[v] & members):
            if w == start:
                chain = [v]
                while chain[-1] != start:
                    chain.append(prev[chain[-1]])
                return [*reversed(chain), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def _in(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_graph_sees_function_level_and_relative_imports() -> None:
    graph = import_graph()
    assert "featherpose.inference.maps" in graph["featherpose.inference.estimator"]  # from .maps import ...
    assert "featherpose.models" in graph["featherpose.modelfile"]  # only inside functions
    assert "featherpose.models.zoo" in graph["featherpose.models"]  # from .zoo import ... in a package __init__


def test_cycle_finder_reports_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    (comp,) = cycles(graph)
    assert comp == ["a", "b", "c"]
    assert one_cycle(graph, comp) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = {frozenset(c): c for c in cycles(graph)}
    new = [" -> ".join(one_cycle(graph, c)) + f"  (component: {', '.join(c)})"
           for key, c in found.items() if key not in KNOWN_CYCLES]  # fmt: skip
    assert not new, "import cycles between modules:\n" + "\n".join(new)
    gone = [sorted(k) for k in KNOWN_CYCLES if k not in found]
    assert not gone, f"known cycles that are gone, remove them from KNOWN_CYCLES: {gone}"


def test_layers_import_downwards() -> None:
    graph = import_graph()
    breaks = {(mod, b): dep for mod, deps in sorted(graph.items()) for layer, banned in FORBIDDEN.items()
              if _in(mod, layer) for dep in sorted(deps) for b in banned if _in(dep, b)}  # fmt: skip
    bad = [f"{mod} imports {dep}" for (mod, b), dep in breaks.items() if (mod, b) not in KNOWN_LAYER_BREAKS]
    assert not bad, "layer rule broken:\n" + "\n".join(bad)
    gone = [key for key in KNOWN_LAYER_BREAKS if key not in breaks]
    assert not gone, f"known layer breaks that are gone, remove them from KNOWN_LAYER_BREAKS: {gone}"
