"""The architecture's layer rules, read from the source with Python's own ``ast``.

Engines (tts, lipsync, media) never import the pipeline, the wire, the transport or any door;
the pipeline never imports the wire, the transport or a door; and no package imports in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "avatar_node"
ENGINES = ("tts", "lipsync", "media")
DOORS = ("transport", "wire", "integrations", "wyoming", "client", "bridges", "web", "app", "cli")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    **{engine: ("pipeline", "models", *DOORS) for engine in ENGINES},
    "pipeline": DOORS,
    "models": ("pipeline", *DOORS),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ``avatar_node`` module ``path`` imports (relative imports resolved), at any depth."""
    tree = ast.parse(path.read_text(), str(path))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("avatar_node"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("avatar_node"):
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_found():
    assert len(SOURCES) > 50 and any(p.parts[-2] == "pipeline" for p in SOURCES)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(layer):
    bad = []
    for path in SOURCES:
        if _layer(_module_name(path)) != layer:
            continue
        for imported in _imports(path):
            if _layer(imported) in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {imported}")
    assert not bad, "layer rule broken:\n" + "\n".join(sorted(set(bad)))


def test_no_import_circles():
    """Modules form a DAG at import time (module-level imports; not TYPE_CHECKING, not deferred)."""
    modules = {_module_name(p): p for p in SOURCES}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        top = ast.Module(body=[n for n in tree.body if not _is_type_checking(n)], type_ignores=[])
        for imported in _imports_of_tree(top, path):
            targets = [imported] if imported in modules else []
            targets += [m for m in modules if m.startswith(imported + ".") and m.count(".") ==
                        imported.count(".") + 1 and _names_submodule(top, imported, m)]  # fmt: skip
            for target in targets:
                if target != name:
                    graph.setdefault(name, set()).add(target)
    cycles = _cycles(graph)
    assert not cycles, f"import circles: {cycles}"


def _names_submodule(tree: ast.Module, package: str, module: str) -> bool:
    leaf = module.rsplit(".", 1)[1]
    return any(isinstance(n, ast.ImportFrom) and any(a.name == leaf for a in n.names)
               for n in tree.body)  # fmt: skip


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports_of_tree(tree: ast.Module, path: Path) -> set[str]:
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in tree.body:  # module level only: function-local imports are deferred on purpose
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            found.add(".".join(base + ([node.module] if node.module else [])))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("avatar_node"):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("avatar_node"))
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    out: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                out.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return out


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The rule can fail: a pipeline module importing the wire is reported."""
    fake = PACKAGE / "pipeline" / "items.py"
    tree_imports = _imports(fake)
    assert all(_layer(m) not in FORBIDDEN["pipeline"] for m in tree_imports)
    probe = ast.parse("from ..wire import AudioChunk\nimport avatar_node.transport.mqtt\n")
    found = _imports_of_tree(probe, fake)
    assert {_layer(m) for m in found} >= {"wire", "transport"}
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]
