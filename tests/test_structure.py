"""The code's shape: imports go only down the layers, without cycles; functions stay short.

Both checks read the sources of the fastmlp that Python imports (the installed
package, where ``fastmlp.kernels`` is ``fastmlp/kernels``, or the source tree,
whose top-level ``kernels/`` is ``fastmlp.kernels`` as ``fastmlp._source_tree``
arranges) with ``ast``, without importing them: ``nox -s lint`` runs this file
in an environment holding fastmlp without its dependencies. Every import
counts, at module level, inside functions and under ``TYPE_CHECKING``: an
import inside a function still makes the lower layer depend on the upper one.
"""

import ast
import importlib.util
import itertools
from pathlib import Path

#: The layers, lowest first. A module may import from its own layer and the ones below.
LAYERS = {
    "foundation: errors, numeric policy, validation, settings' parts": (
        "fastmlp._source_tree",
        "fastmlp._version",
        "fastmlp.errors",
        "fastmlp.config",
        "fastmlp.names",
        "fastmlp._files",
        "fastmlp._checks",
        "fastmlp.optimizers",  # the optimizer table: the kernels read its codes
        "fastmlp.schedules",
    ),
    "kernels and their twins": ("fastmlp.kernels", "fastmlp.reference", "fastmlp.scalar"),
    "model": ("fastmlp.model", "fastmlp.objective"),
    "persistence and data files": (
        "fastmlp._archive",
        "fastmlp.io",
        "fastmlp.history",
        "fastmlp.checkpoint",
        "fastmlp.datasets",  # tabular data files share the archive format
    ),
    "training": (
        "fastmlp.callbacks",
        "fastmlp.settings",
        "fastmlp.trainer",
        "fastmlp.training",
        "fastmlp.gradient_check",
    ),
    "estimators": (
        "fastmlp._sklearn_random",
        "fastmlp._sklearn_params",
        "fastmlp._sklearn_files",
        "fastmlp._sklearn_fit",
        "fastmlp.estimator",
    ),
    "apps": (
        "fastmlp.experiments",
        "fastmlp.plots",
        "fastmlp.reproduce",
        "fastmlp._warmup",
        "fastmlp.cli",
        "fastmlp.__main__",
        "fastmlp",  # the package itself: what `import fastmlp` offers sits on top
    ),
}

#: The longest a function in fastmlp/ or kernels/ may be, in lines (docstring included).
MAX_FUNCTION_LINES = 60


def package_sources():
    """Return ``{module name: source file}`` of fastmlp and fastmlp.kernels as Python finds them."""
    spec = importlib.util.find_spec("fastmlp")  # finds the package without running it
    root = Path(spec.origin).parent
    installed = root / "kernels"
    kernels = installed if installed.is_dir() else root.parent / "kernels"
    sources = {}
    for package, folder in (("fastmlp", root), ("fastmlp.kernels", kernels)):
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[0] == "kernels" and folder == root:
                continue  # the installed kernels: walked as fastmlp.kernels
            if parts[-1] == "__init__":
                parts = parts[:-1]
            sources[".".join((package, *parts))] = path
    assert {"fastmlp", "fastmlp.model", "fastmlp.kernels.sgd"} <= set(sources), sorted(sources)
    return sources


SOURCES = package_sources()


def layer_of(module):
    """Return the index in LAYERS of the layer holding ``module`` (or its package)."""
    for index, members in enumerate(LAYERS.values()):
        if any(module == m or (m != "fastmlp" and module.startswith(m + ".")) for m in members):
            return index
    return None


def imports_of(module, path):
    """Yield ``(line, imported module)`` for every fastmlp import in ``path``, anywhere in it."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = module.split(".")[: len(module.split(".")) - node.level + is_package]
            base = ".".join([*base, *([node.module] if node.module else [])])
            # `from . import x` imports the submodule x if there is one, else a name of base.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in SOURCES else base for a in node.names
            ]
        elif isinstance(node, ast.ImportFrom):
            targets = [node.module]
        else:
            continue
        for target in targets:
            if target == "fastmlp" or target.startswith("fastmlp."):
                yield node.lineno, target


def import_graph():
    """Return ``{module: {imported module: first line}}``, packages counted as imported too."""
    graph = {}
    for module, path in SOURCES.items():
        edges = graph.setdefault(module, {})
        for line, target in imports_of(module, path):
            parts = target.split(".")
            # Importing a.b.c runs a.b first; the root runs before everything and is left
            # out, unless it is what the line imports.
            for imported in [".".join(parts[:end]) for end in range(2, len(parts))] + [target]:
                if imported != module and not module.startswith(imported + "."):
                    edges.setdefault(imported, line)
    return graph


GRAPH = import_graph()


def where(module, target):
    return f"{SOURCES[module]}:{GRAPH[module][target]}: {module} imports {target}"


def test_every_module_has_a_layer():
    unplaced = [module for module in SOURCES if layer_of(module) is None]
    assert not unplaced, f"add these modules to a layer in LAYERS: {unplaced}"


def test_imports_go_only_down_the_layers():
    names = list(LAYERS)
    upward = [
        f"{where(module, target)} ({names[layer_of(module)]!r} below {names[layer_of(target)]!r})"
        for module, targets in GRAPH.items()
        for target in targets
        if layer_of(target) is not None and layer_of(module) < layer_of(target)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def find_cycle(graph):
    """Return one import cycle as a list of modules (first == last), or None."""
    state = {}  # module -> "open" while on the current path, "done" after

    def visit(module, path):
        state[module] = "open"
        for target in graph.get(module, ()):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = "done"
        return None

    for module in graph:
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_there_are_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle:\n" + "\n".join(
        where(a, b) for a, b in itertools.pairwise(cycle)
    )


def test_the_checks_see_what_they_check():
    """The walker finds function-level imports, and the cycle finder finds cycles."""
    assert GRAPH["fastmlp.cli"].keys() >= {"fastmlp.plots", "fastmlp.reproduce"}  # in functions
    assert GRAPH["fastmlp.model"].keys() >= {"fastmlp.kernels", "fastmlp.kernels.network"}
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}, "c": {"a": 1, "b": 1}}) is None
    assert layer_of("fastmlp.kernels.sgd") < layer_of("fastmlp.model") < layer_of("fastmlp.cli")


def long_functions(paths, limit=MAX_FUNCTION_LINES):
    """Return ``"file:line name (n lines)"`` for every function longer than ``limit`` lines."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append(f"{path}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_the_length_check_counts_docstrings_and_nested_functions(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(3))
    source = f'def outer():\n    """Doc.\n\n    More.\n    """\n\n    def inner():\n{body}\n'
    path = tmp_path / "module.py"
    path.write_text(
        source + "\n    return inner\n\n\nclass C:\n    async def method(self):\n        pass\n"
    )
    assert long_functions([path], limit=3) == [
        f"{path}:1 outer (12 lines)",
        f"{path}:7 inner (4 lines)",
    ]
    assert long_functions([path], limit=1)[-1] == f"{path}:16 method (2 lines)"
    assert long_functions([path], limit=12) == []


def test_no_function_is_longer_than_the_limit():
    found = long_functions(SOURCES.values())
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(found)
