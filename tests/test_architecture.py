"""The package's shape, read from its source: short functions, no import cycles, imports that go one way
through the layers, and a console only in CLI code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mlqa_domain"
ROOT = PACKAGE.name
MAX_FUNCTION_LINES = 60

# the library's layers, lowest first: a module imports its own layer or lower ones (core: the top-level
# modules of the package)
LAYERS = ("core", "filters", "labeling", "builders", "benchmark", "training", "leaderboard")
# CLI modules may import anything (and no library module imports them); so does any `commands` package
CLI_MODULES = frozenset(f"{ROOT}.{name}" for name in ("entry", "cli", "bench_cli", "cli_utils", "demo"))
# library modules that make a rich Console without printing to it
MEASURING_CONSOLES = {f"{ROOT}.terminal_tables": "measures a table's natural width on an unprinted console"}


def module_paths() -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of the package (a package is its ``__init__``)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = module_paths()


def parse(module: str) -> ast.Module:
    """The syntax tree of ``module``."""
    return ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _known(name: str) -> str | None:
    """``name`` when it is a module of the package, else the nearest package of the package above it."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(module: str) -> Iterator[str]:
    """Every module that ``module`` imports, anywhere in the file (inside functions and ``TYPE_CHECKING``
    blocks too): ``from pkg import name`` names ``pkg.name`` when that is a module, else ``pkg``."""
    for node in ast.walk(parse(module)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(module).split(".")
                anchor = ".".join(package[: len(package) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def internal_imports(module: str) -> set[str]:
    """The package's own modules that ``module`` imports (itself left out)."""
    targets = {_known(name) for name in imported_names(module) if name.split(".")[0] == ROOT}
    return {target for target in targets if target and target != module}


def import_graph() -> dict[str, set[str]]:
    """``{module: the package's modules it imports}``."""
    return {module: internal_imports(module) for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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


def is_cli(module: str) -> bool:
    """CLI code: the two apps, their helpers, the demo and every ``commands`` package."""
    return module in CLI_MODULES or "commands" in module.split(".")


def layer(module: str) -> int:
    """The layer of a library module (its index in :data:`LAYERS`); CLI modules sit above them all."""
    if is_cli(module):
        return len(LAYERS)
    parts = module.split(".")
    if len(parts) == 1 or MODULES[f"{ROOT}.{parts[1]}"].name != "__init__.py":
        return LAYERS.index("core")
    assert parts[1] in LAYERS, f"package {parts[1]} has no layer: add it to LAYERS in {__file__}"
    return LAYERS.index(parts[1])


def function_lengths(tree: ast.Module) -> Iterator[tuple[str, int, int]]:
    """``(name, line, body lines)`` of every function and method: from the first statement after the
    docstring to the end of the function."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if len(node.body) > 1 and ast.get_docstring(node) is not None else node.body
            yield node.name, node.lineno, body[-1].end_lineno - body[0].lineno + 1


def test_no_function_body_is_over_60_lines() -> None:
    too_long = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} {name} ({lines} lines)"
        for module in MODULES
        for name, line, lines in function_lengths(parse(module))
        if lines > MAX_FUNCTION_LINES
    ]
    assert not too_long, "split these functions into named steps:\n" + "\n".join(too_long)


def test_function_lengths_are_counted_after_the_docstring() -> None:
    source = 'def f():\n    """Doc.\n\n    More."""\n    a = 1\n\n    return a\n\n\ndef g():\n    pass\n'
    assert list(function_lengths(ast.parse(source))) == [("f", 1, 3), ("g", 10, 1)]


def test_no_import_cycles_between_the_package_modules() -> None:
    found = cycles(import_graph())
    assert not found, "modules that import each other (directly or round a circle):\n" + "\n".join(
        " <-> ".join(component) for component in found
    )


def test_the_cycle_finder_sees_imports_inside_functions_and_of_modules_by_name() -> None:
    graph = import_graph()
    # `from mlqa_domain.benchmark import aggregates` is an edge to the module; a lazy import counts too
    assert f"{ROOT}.benchmark.aggregates" in graph[f"{ROOT}.leaderboard.table"]
    assert f"{ROOT}.benchmark.data" in graph[f"{ROOT}.benchmark.compare"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_go_down_the_layers() -> None:
    upward = [
        f"{module} ({LAYERS[layer(module)]}) imports {target}"
        for module, targets in import_graph().items()
        if not is_cli(module)
        for target in sorted(targets)
        if layer(target) > layer(module)
    ]
    assert not upward, "library modules importing a higher layer or CLI code:\n" + "\n".join(upward)


def test_library_code_owns_no_console() -> None:
    """Only CLI code prints: library modules log, and return what the commands show (the CLI's consoles
    live in cli_utils, which no library module may import: see the layers)."""
    for module, path in MODULES.items():
        if not is_cli(module) and module not in MEASURING_CONSOLES:
            assert "rich.console" not in set(imported_names(module)), module
            assert "Console(" not in path.read_text(encoding="utf-8"), module
