"""The package's shape: no import circle, and the walls between engine and vendors hold."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "crmproof"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every crmproof module a file imports, at any depth of the file (lazy ones too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("crmproof")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crmproof"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in known else str(node.module))
    return found & known


def test_no_import_circle_in_the_engine() -> None:
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {name: _imports(path, set(files)) - {name} for name, path in files.items()}
    circles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append([*trail[trail.index(name) :], name])
            return
        for nxt in sorted(graph[name]):
            if nxt.startswith(f"{name}.") and name not in ("crmproof",):
                continue  # a package importing its own submodules is its public face
            visit(nxt, [*trail, name])

    for name in sorted(graph):
        if name != "crmproof":  # the public face imports its parts; nothing imports it back
            visit(name, [])
    assert not circles, "import circle(s): " + "; ".join(" -> ".join(c) for c in circles[:5])


def test_the_engine_imports_no_vendor_and_adapters_no_runner() -> None:
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        for vendor in ("tryton", "bottlecrm", "djangocrm"):
            assert f"adapters.{vendor}" not in text and f"import {vendor}" not in text, path
    for path in (ROOT / "adapters").rglob("*.py"):
        imported = _imports(path, {"crmproof.runner", "crmproof.execute", "crmproof.plan"})
        assert not imported, f"{path} imports {imported}"


def test_no_two_test_modules_share_a_name() -> None:
    """tests/unit and tests/integration are not packages: a shared basename stops collection."""
    tests = Path(__file__).resolve().parent.parent
    names = [p.name for p in tests.rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
