"""The direction of dependencies (README, Layout), checked on the source: every import
statement of a package, function-local ones and TYPE_CHECKING ones included.

From the top: ``storyvideo`` (the composition root: settings, URLs, ASGI, the system's own
views, the wiring) -> ``projects`` -> ``shots`` -> ``accounts`` (API tokens, the audit log) ->
``tasks`` -> ``core`` (the shared kernel) -> ``inference`` (the engines, no Django). Nothing
imports the composition root, and the kernel and the task engine know no app of the film."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "projects": {"storyvideo"},
    "shots": {"projects", "storyvideo"},
    "accounts": {"projects", "shots", "tasks", "inference", "storyvideo"},
    "tasks": {"projects", "shots", "accounts", "inference", "storyvideo"},
    "core": {"projects", "shots", "accounts", "tasks", "storyvideo"},
    "inference": {"django", "rest_framework", "channels", "core", "storyvideo", "projects", "shots", "tasks"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_lower_layer_never_imports_a_higher_one(package: str) -> None:
    offences = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {path: names for path, names in offences.items() if names} == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from projects.pipeline import shots_regenerate\n    import django.db\n")
    assert _imports(module) == {"projects", "django"}
