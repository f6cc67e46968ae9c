"""The package's import rules, checked from its source with ``ast`` (nothing is imported).

Every ``import`` statement counts, wherever it stands: at module level, inside a function, or
under ``if TYPE_CHECKING`` (a type-only import still ties two files together). A *part* is a
sub-package (``a2c_lab.training``) or a top-level module (``a2c_lab.config``); ``RULES`` says
which parts each part may import. ``check`` reports an import that the rules forbid, a circle
between modules, a circle between parts, and a forbidden third-party import (``FORBIDDEN``)
reachable from a part through module-level imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "a2c_lab"
# part -> the parts it may import (itself always). Only run.py imports sweeps; nothing imports
# study or bench, which sit at the top beside the command line.
RULES: dict[str, set[str]] = {
    "config": set(),
    "validation": {"config"},
    "runs": {"config"},
    "analysis": {"config", "runs"},
    "training": {"config", "validation", "runs"},
    "sweeps": {"config", "validation", "runs", "training"},
    "study": {"config", "runs", "analysis"},
    "bench": {"config", "runs", "training", "analysis"},
    "run": {"config", "validation", "runs", "training", "sweeps"},
    "__init__": set(),
}
# part -> third-party top-level packages that its own files never import
NOT_IMPORTED: dict[str, set[str]] = {
    "runs": {"hydra"},
    "training": {"hydra"},  # training knows nothing of Hydra's machinery (config.py registers the schema)
    "analysis": {"hydra"},
}
# part -> third-party top-level packages it must not reach through module-level imports
NOT_REACHED: dict[str, set[str]] = {
    "analysis": {"torch"},  # reading runs and drawing figures needs no torch
    "study": {"torch"},
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module (or package), dotted
    line: int
    module_level: bool


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str:
    """``a.b.c`` if it is a module of the package, else its longest known prefix."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def imports(root: Path) -> list[Import]:
    """Every import of the package: internal ones resolved to modules, others as written."""
    known = modules(root)
    found = []
    for source, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = source.split(".") if is_package else source.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # "from pkg import mod" imports the module pkg.mod where there is one
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for name in dict.fromkeys(names):
                internal = name == PACKAGE or name.startswith(PACKAGE + ".")
                found.append(Import(source, _resolve(name, known) if internal else name, node.lineno,
                                    id(node) in top_level))
    return found


def part_of(module: str) -> str:
    """``a2c_lab.training.envs`` -> ``training``; ``a2c_lab.config`` -> ``config``."""
    rest = module.split(".")[1:]
    return rest[0] if rest else "__init__"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle for each strongly connected component with more than one node (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graphs here are small
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def check(root: Path, rules: dict[str, set[str]] = RULES, not_imported: dict[str, set[str]] = NOT_IMPORTED,
          not_reached: dict[str, set[str]] = NOT_REACHED) -> list[str]:
    """Every broken rule, one line each; [] when the package keeps them all."""
    problems = []
    found = imports(root)
    internal = [i for i in found if i.target.split(".")[0] == PACKAGE]
    module_edges: dict[str, set[str]] = {}
    part_edges: dict[str, set[str]] = {}
    for imp in internal:
        if imp.target == imp.source or imp.target == PACKAGE:
            continue
        module_edges.setdefault(imp.source, set()).add(imp.target)
        src, dst = part_of(imp.source), part_of(imp.target)
        if src != dst:
            part_edges.setdefault(src, set()).add(dst)
            if src not in rules:
                problems.append(f"{imp.source}: part '{src}' has no import rule")
            elif dst not in rules[src]:
                problems.append(f"{imp.source}:{imp.line} imports {imp.target}: '{src}' may import "
                                f"{sorted(rules[src]) or 'nothing of the package'}")
    for cycle in _cycles(module_edges):
        problems.append("import circle between modules: " + " -> ".join(cycle))
    for cycle in _cycles(part_edges):
        problems.append("import circle between parts: " + " -> ".join(cycle))
    for imp in found:
        if imp.target.split(".")[0] in not_imported.get(part_of(imp.source), set()):
            problems.append(f"{imp.source}:{imp.line} imports {imp.target}: '{part_of(imp.source)}' must not")
    # third-party packages each part reaches at import time
    top = [i for i in found if i.module_level]
    reach: dict[str, set[str]] = {}
    for imp in top:
        reach.setdefault(imp.source, set()).add(imp.target)
    for source in modules(root):
        banned = not_reached.get(part_of(source), set())
        if not banned:
            continue
        seen, todo = set(), [source]
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            for target in reach.get(module, ()):
                if target.split(".")[0] == PACKAGE:
                    todo.append(target)
                elif target.split(".")[0] in banned:
                    problems.append(f"{source} reaches {target} at import time (through {module}); "
                                    f"'{part_of(source)}' must not")
    return sorted(set(problems))
