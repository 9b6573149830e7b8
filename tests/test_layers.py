"""Import layers point only down, and no two files import each other (directly or round a loop).

Layers, lowest first: `envs` (simulators and the truth schema) < the `worldsim` core < `evals` <
`worldsim.jobs`, `worldsim.cli` and its `worldsim.help`. A module may import from its own layer or a
lower one. Imports inside functions count too: a lazy import hides a dependency, it does not
remove it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "worldsim", "evals")
TOP = ("worldsim.jobs", "worldsim.cli", "worldsim.help")  # may import everything


def layer(module: str) -> int:
    """0 envs, 1 worldsim core, 2 evals, 3 jobs and CLI."""
    if any(module == top or module.startswith(top + ".") for top in TOP):
        return 3
    return {"envs": 0, "worldsim": 1, "evals": 2}[module.split(".")[0]]


def modules_under(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of PACKAGES under `root`."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of `modules` it imports, at module level or inside functions."""

    def resolve(name: str) -> str | None:  # the longest known module that `name` lies in
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: climb level - 1 packages up from this one
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import sub` imports the submodule when there is one
                targets.update(resolve(f"{base}.{alias.name}") for alias in node.names)
        graph[module] = {t for t in targets if t and t != module}
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """'a -> b' for every import of a module from a higher layer."""
    return [
        f"{a} -> {b}" for a, bs in sorted(graph.items()) for b in sorted(bs) if layer(b) > layer(a)
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


@cache
def repo_graph() -> dict[str, set[str]]:
    return import_graph(modules_under(ROOT))


def test_no_import_points_to_a_higher_layer():
    assert upward_imports(repo_graph()) == []


def test_no_import_cycle_between_files():
    assert import_cycles(repo_graph()) == []


def test_truth_schema_imports_nothing_of_the_project():
    assert repo_graph()["envs.base"] == set()


def test_jobs_do_not_depend_on_the_command_line():
    assert [m for m, deps in repo_graph().items() if "worldsim.cli" in deps] == []


def test_checker_catches_a_planted_backward_import_and_cycle(tmp_path):
    files = {
        "envs/__init__.py": "",
        "envs/base.py": "def f():\n    from worldsim.jobs import record\n",
        "worldsim/__init__.py": "",
        "worldsim/jobs/__init__.py": "",
        "worldsim/jobs/record.py": "from ..data import store\n",
        "worldsim/data/__init__.py": "",
        "worldsim/data/store.py": "import envs.base\n",
        "evals/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(modules_under(tmp_path))
    assert upward_imports(graph) == ["envs.base -> worldsim.jobs.record"]
    assert import_cycles(graph) == [["envs.base", "worldsim.data.store", "worldsim.jobs.record"]]
