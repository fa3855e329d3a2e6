"""The sandbox checks the app from outside: none of its modules imports the app's packages."""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

APP_PACKAGES = {"booking", "suppliers", "activities", "clients", "orchestrators", "function_app"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_sandbox_imports_nothing_of_the_app() -> None:
    root = Path(sandbox.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 10  # the walk found the package, so an empty result means something
    found = {
        f"{path.relative_to(root)}: {name}"
        for path in modules
        for name in _imported(path)
        if name.split(".")[0] in APP_PACKAGES
    }
    assert found == set()
