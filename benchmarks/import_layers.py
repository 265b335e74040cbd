"""The package's import graph, checked against its layers.

    python benchmarks/import_layers.py            # the graph between layers, then any breach
    python benchmarks/import_layers.py --modules  # one line per module: what it imports
    python benchmarks/import_layers.py --root OTHER/pytest_modelperf   # another checkout's

Every ``from . import`` inside ``pytest_modelperf`` is read with ``ast``: those at module level,
those inside functions (``lazy``) and those under ``if TYPE_CHECKING:`` alike, since an import
moved into a function still ties the two modules. The rules:

- imports go down the layers below (cli/plugin -> run -> ... -> storage -> core); a module may
  import its own layer's modules, never a higher layer's;
- no cycle among modules, counting lazy imports too;
- ``core`` and ``storage`` import neither torch, transformers nor pytest, and ``cli`` never
  imports pytest or the pytest-side layers (checked again at run time by the test suite).

Exits 1 when a rule is broken, naming the importing file and line.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "pytest_modelperf"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
sys.path.insert(0, str(ROOT.parent))  # runs from a checkout without the package installed

from pytest_modelperf.core.counts import counted  # noqa: E402

# Lowest first. A layer may import its own modules and any layer with a smaller rank.
LAYERS: dict[str, int] = {
    "core": 0,
    "storage": 1,
    "models": 2,
    "measure": 3,
    "quality": 4,
    "training": 5,
    "render": 6,
    "sweep": 7,
    "options": 8,
    "markers": 9,
    "run": 10,
    "fixture": 11,
    "plugin": 12,
    "cli": 12,
    "": 13,  # the package's own __init__: the public names, gathered from the layers
}
# Layers that must not load these, directly or through what they import.
FORBIDDEN = {
    "core": ("torch", "transformers", "pytest", "_pytest"),
    "storage": ("torch", "transformers", "pytest", "_pytest"),
    "cli": ("pytest", "_pytest"),
}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted, without the package prefix ("" = the package)
    target: str  # imported module or top-level third-party name
    line: int
    kind: str  # "top", "lazy" (inside a function) or "typing" (under TYPE_CHECKING)

    @property
    def internal(self) -> bool:
        return self.target.startswith(PACKAGE)


def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif parts[-1] == "__main__":
            continue
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name.split(".") if name else []
    if path.name != "__init__.py":
        package = package[:-1]

    def absolute(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = package[: len(package) - (node.level - 1)]
        return ".".join([PACKAGE, *base, *([node.module] if node.module else [])])

    def walk(node: ast.AST, kind: str) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ImportFrom):
                target = absolute(child)
                for alias in child.names:
                    submodule = f"{target}.{alias.name}"
                    inner = submodule.removeprefix(PACKAGE).lstrip(".")
                    yield Import(name, submodule if inner in known else target, child.lineno, kind)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(name, alias.name, child.lineno, kind)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from walk(child, "lazy")
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from walk(child, "typing")
            else:
                yield from walk(child, kind)

    yield from walk(tree, "top")


def layer_of(module: str) -> str:
    return module.split(".")[0] if module else ""


def inner(target: str) -> str:
    return target.removeprefix(PACKAGE).lstrip(".")


def all_imports(root: Path = ROOT) -> list[Import]:
    found = modules(root)
    known = set(found)
    return [each for name, path in found.items() for each in imports_of(name, path, known)]


def breaches(imports: list[Import]) -> list[str]:
    problems = []
    for each in imports:
        where = f"{PACKAGE}/{each.source.replace('.', '/') or '__init__'}.py:{each.line}"
        source_layer = layer_of(each.source)
        if each.internal:
            target_layer = layer_of(inner(each.target))
            if source_layer not in LAYERS or target_layer not in LAYERS:
                unknown = source_layer if source_layer not in LAYERS else target_layer
                problems.append(f"{where}: {unknown!r} is in no layer")
            elif target_layer != source_layer and LAYERS[target_layer] >= LAYERS[source_layer]:
                problems.append(f"{where}: {source_layer} imports {inner(each.target)} ({each.kind}), a layer at or above it")
        else:
            top = each.target.split(".")[0]
            if top in FORBIDDEN.get(source_layer, ()):
                problems.append(f"{where}: {source_layer} imports {each.target} ({each.kind})")
    problems.extend(f"cycle: {' -> '.join(cycle)}" for cycle in cycles(imports))
    return list(dict.fromkeys(problems))


def cycles(imports: list[Import]) -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for each in imports:
        if each.internal and each.kind != "typing":
            target = inner(each.target)
            # A parent package is always initialised before its modules: no edge back to it.
            if target != each.source and not (target == "" or each.source.startswith(f"{target}.")):
                graph[each.source].add(target)
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def layer_table(imports: list[Import]) -> list[str]:
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for each in imports:
        if each.internal:
            source, target = layer_of(each.source), layer_of(inner(each.target))
            if source != target:
                counts[(source or "__init__", target)][each.kind] += 1
    rank = lambda layer: LAYERS.get("" if layer == "__init__" else layer, 99)  # noqa: E731
    lines = []
    for (source, target), kinds in sorted(counts.items(), key=lambda item: (-rank(item[0][0]), item[0])):
        detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        lines.append(f"{source:>9} -> {target:<9} {detail}")
    return lines


def summary_line(module_count: int, imports: list[Import], cycle_count: int, breach_count: int) -> str:
    """``138 modules; 1109 imports of the package (984 top, 120 lazy, 5 typing); 0 cycles; 0 breaches ...``."""
    internal = [each for each in imports if each.internal]
    kinds = ", ".join(f"{sum(each.kind == kind for each in internal)} {kind}" for kind in ("top", "lazy", "typing"))
    return (
        f"{counted(module_count, 'module')}; {counted(len(internal), 'import')} of the package ({kinds}); "
        f"{counted(cycle_count, 'cycle')}; {counted(breach_count, 'breach', 'breaches')} of the layering"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="list every module's imports of the package")
    parser.add_argument("--root", type=Path, default=ROOT, help="the package folder to read (default: this checkout's)")
    arguments = parser.parse_args(argv)
    imports = all_imports(arguments.root)
    if arguments.modules:
        by_module: dict[str, list[str]] = defaultdict(list)
        for each in imports:
            if each.internal:
                by_module[each.source].append(inner(each.target) + ("" if each.kind == "top" else f" ({each.kind})"))
        for module in sorted(modules(arguments.root)):
            print(f"{module or '__init__'}: {', '.join(sorted(set(by_module[module]))) or '-'}")
    else:
        print("\n".join(layer_table(imports)))
    problems = breaches(imports)
    print("\n" + summary_line(len(modules(arguments.root)), imports, len(cycles(imports)), len(problems)))
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
