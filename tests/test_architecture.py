"""The package's shape, checked on its source with `ast` (nothing is imported): no import cycles, MLflow only
behind toolkit.tracking and the CLI, no module over 400 lines, and CLI commands that stay thin.

Every import statement counts: module level, inside functions, under TYPE_CHECKING, relative ones, and
`from toolkit.x import y` where y is a submodule (an edge to toolkit.x.y, not to toolkit.x).
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

import toolkit

PACKAGE = Path(toolkit.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent
MAX_MODULE_LINES = 400
MAX_COMMAND_LINES = 25
MLFLOW_HOMES = ("toolkit.tracking", "toolkit.cli")  # the only packages that may touch mlflow
DYNAMIC_IMPORTERS = {"import_module", "__import__", "require"}  # require: toolkit._deps' optional-import helper

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of its first import}


# --- Reading the source --------------------------------------------------------------------------------


def discover(package: Path) -> dict[str, Path]:
    """Every module under `package` by dotted name (a package is named by its __init__.py)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """(dotted name, line) for every import anywhere in `tree`; `from a import b` yields a.b, which lands on
    the submodule a.b if there is one, else on a (see resolve)."""
    own_package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = own_package.split(".")[: len(own_package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield (base if alias.name == "*" else f"{base}.{alias.name}"), node.lineno


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lands in: the longest known prefix (toolkit.a.b.Thing -> toolkit.a.b)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def import_graph(package: Path) -> Graph:
    """Module -> the package's modules it imports (a package's own __init__ is not added for its submodules:
    `import a.b` is an edge to a.b, `from a import name` one to a)."""
    modules = discover(package)
    graph: Graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges: dict[str, int] = {}
        for name, line in imported_names(tree, module, path.name == "__init__.py"):
            target = resolve(name, modules)
            if target is not None and target != module:
                edges[target] = min(line, edges.get(target, line))
        graph[module] = edges
    return graph


# --- Cycles --------------------------------------------------------------------------------------------


def strongly_connected(graph: dict[str, set[str]] | Graph) -> list[list[str]]:
    """Tarjan's components with more than one module (each a set of mutually importing modules), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def shortest_cycle(graph: dict[str, set[str]] | Graph, start: str) -> list[str]:
    """The shortest import path from `start` back to itself (breadth first), e.g. [a, b, a]."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if nxt not in parents:
                parents[nxt] = node
                queue.append(nxt)
    return []


def find_cycles(graph: dict[str, set[str]] | Graph) -> list[list[str]]:
    """One shortest cycle per group of mutually importing modules (empty: the graph is acyclic)."""
    return [shortest_cycle(graph, component[0]) for component in strongly_connected(graph)]


def describe_cycle(cycle: list[str], graph: Graph, modules: dict[str, Path]) -> str:
    """A cycle as file:line hops, so the import to cut is one click away."""
    hops = []
    for here, there in zip(cycle, cycle[1:], strict=False):
        where = modules[here].relative_to(PACKAGE.parent)
        hops.append(f"{where}:{graph[here][there]} imports {there}")
    return " -> ".join(cycle) + "\n      " + "\n      ".join(hops)


# --- Other rules ---------------------------------------------------------------------------------------


def mlflow_imports(tree: ast.AST) -> list[int]:
    """Lines that import mlflow: import statements, and import_module/__import__/require('mlflow...')."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if not node.level else []
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            names = [str(node.args[0].value)] if called in DYNAMIC_IMPORTERS else []
        else:
            continue
        if any(name == "mlflow" or name.startswith("mlflow.") for name in names):
            lines.append(node.lineno)
    return lines


def _is_command_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr in {"command", "callback"}


def command_bodies(tree: ast.AST) -> dict[str, int]:
    """Typer commands (decorated with @x.command/@x.callback, or registered as x.command()(f)) and the number
    of lines of their bodies, docstring excluded."""
    registered = {
        node.args[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _is_command_decorator(node.func)
        and node.args
        and isinstance(node.args[0], ast.Name)
    }
    sizes = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.name in registered or any(_is_command_decorator(d) for d in node.decorator_list):
            body = node.body[1:] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body
            sizes[node.name] = body[-1].end_lineno - body[0].lineno + 1
    return sizes


# --- The package's checks ------------------------------------------------------------------------------


def test_toolkit_has_no_import_cycles() -> None:
    graph, modules = import_graph(PACKAGE), discover(PACKAGE)
    cycles = find_cycles(graph)
    groups = strongly_connected(graph)
    report = [
        f"  {describe_cycle(cycle, graph, modules)}\n    (mutually importing: {', '.join(group)})"
        for cycle, group in zip(cycles, groups, strict=True)
    ]
    assert not cycles, f"{len(cycles)} import cycle(s) in toolkit/:\n" + "\n".join(report)


def test_mlflow_is_imported_only_by_tracking_and_the_cli() -> None:
    offenders = []
    for module, path in discover(PACKAGE).items():
        if any(module == home or module.startswith(f"{home}.") for home in MLFLOW_HOMES):
            continue
        lines = mlflow_imports(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{path.relative_to(PACKAGE.parent)}:{line}" for line in lines]
    assert not offenders, "mlflow imported outside toolkit/tracking and toolkit/cli: " + ", ".join(offenders)


def test_no_module_is_over_400_lines() -> None:
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in discover(PACKAGE).values()}
    long = [f"{path.relative_to(PACKAGE.parent)} ({n})" for path, n in sizes.items() if n > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines: " + ", ".join(long)


def test_cli_commands_stay_thin() -> None:
    """A command parses options, calls one function and prints: anything longer belongs in a function."""
    found, long = 0, []
    for path in sorted((PACKAGE / "cli").rglob("*.py")):
        sizes = command_bodies(ast.parse(path.read_text(encoding="utf-8")))
        found += len(sizes)
        long += [f"{path.name}:{name} ({n})" for name, n in sizes.items() if n > MAX_COMMAND_LINES]
    assert found >= 10, f"only {found} CLI commands found: is command_bodies still finding them?"
    assert not long, f"CLI command bodies over {MAX_COMMAND_LINES} lines: " + ", ".join(long)


def test_every_test_folder_is_a_package() -> None:
    """Shared code is imported as `from tests.helpers import ...`: that needs an __init__.py in each folder."""
    folders = {path.parent for path in TESTS.rglob("test_*.py")}
    missing = [str(f.relative_to(TESTS.parent)) for f in sorted(folders) if not (f / "__init__.py").exists()]
    assert not missing, "test folders without __init__.py: " + ", ".join(missing)


# --- The checkers can fail -----------------------------------------------------------------------------


def test_find_cycles_reports_the_cycle_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}, "f": {"f"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"x": {"y"}, "y": {"x"}, "p": {"q"}, "q": {"r"}, "r": {"p"}}) == [
        ["p", "q", "r", "p"],
        ["x", "y", "x"],
    ]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_import_graph_counts_every_kind_of_import(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "def f():\n    from . import b\n",
            "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub.c import C\n",
            "pkg/sub/__init__.py": "from pkg import a as _a\n",
            "pkg/sub/c.py": "from ..a import f\nimport pkg.b\nfrom pkg import sub\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b": 2}
    assert graph["pkg.b"] == {"pkg.sub.c": 3}
    assert graph["pkg.sub"] == {"pkg.a": 1}
    assert set(graph["pkg.sub.c"]) == {"pkg.a", "pkg.b", "pkg.sub"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]


def test_mlflow_finder_and_command_measure_catch_offenders() -> None:
    source = "import os\nimport mlflow.pyfunc\nfrom mlflow import MlflowClient\nrequire('mlflow', 'x')\n"
    assert mlflow_imports(ast.parse(source)) == [2, 3, 4]
    cli = (
        "@app.command()\ndef long():\n    '''doc'''\n" + "    x = 1\n" * 30 + "\n"
        "def short():\n    return 1\n\nsub.command('s')(short)\n"
    )
    assert command_bodies(ast.parse(cli)) == {"long": 30, "short": 1}


@pytest.mark.parametrize("name", ["toolkit.cli", "toolkit.tracking"])
def test_the_mlflow_homes_exist(name: str) -> None:
    assert name in discover(PACKAGE)
