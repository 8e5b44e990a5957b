"""The house rules of docs/architecture.md, checked on the source tree: no import circle (every import
statement, also inside functions, and relative ``import_module`` calls), no source file over 600 lines,
and the layers' one-way imports (the model never imports a builder, a builder never the model)."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cevns"
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its text."""
    modules = _modules()

    def owner(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")
                base = base[: len(base) - node.level + 1] if node.level else []
                stem = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
                subs = [f"{stem}.{alias.name}" for alias in node.names]
                targets += subs if all(s in modules for s in subs) else [stem, *(s for s in subs if s in modules)]
            elif isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "import_module"
                  and node.args and re.match(r"^f?['\"]\.", ast.unparse(node.args[0]))):
                targets += [m for m in modules if m.rpartition(".")[0] == package and m != name]  # any sibling
            for target in targets:
                module = owner(target) if target.startswith("cevns") else None
                if module and module != name:
                    edges.add(module)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    graph = import_graph()
    # the checker sees function-level imports and the release registry's import_module
    assert "cevns.builders.releases" in graph["cevns.builders.scenario"] and "cevns.builders.releases.dresden_ii" in graph["cevns.builders.releases"]
    assert cycles(graph) == []


@pytest.mark.parametrize("module, forbidden", [
    ("cevns.spec", ("cevns.model", "cevns.builders", "cevns.inference", "cevns.physics", "cevns.sources",
                    "cevns.detectors", "cevns.experiment", "cevns.app", "cevns.cli", "cevns.plotting")),
    ("cevns.model", ("cevns.builders", "cevns.inference", "cevns.cli", "cevns.app", "cevns.plotting")),
    ("cevns.builders", ("cevns.model", "cevns.inference", "cevns.app", "cevns.cli", "cevns.plotting")),
    ("cevns.physics", ("cevns.model", "cevns.builders", "cevns.inference", "cevns.experiment", "cevns.sources",
                       "cevns.detectors", "cevns.app", "cevns.cli")),
    ("cevns.sources", ("cevns.model", "cevns.builders", "cevns.inference", "cevns.experiment", "cevns.app")),
    ("cevns.experiment", ("cevns.model", "cevns.builders", "cevns.inference", "cevns.app")),
    ("cevns.inference", ("cevns.cli", "cevns.app", "cevns.plotting", "cevns.builders")),
    ("cevns.plotting", ("cevns.inference", "cevns.model", "cevns.builders", "cevns.app", "cevns.cli")),
])
def test_layers_import_one_way(module, forbidden):
    graph = import_graph()
    for name, edges in graph.items():
        if name == module or name.startswith(module + "."):
            bad = sorted(e for e in edges if any(e == f or e.startswith(f + ".") for f in forbidden))
            assert not bad, f"{name} imports {bad}"


def test_no_source_file_over_600_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
