"""One drawn error tree per layer: every exception class of booking/, suppliers/ and clients/ derives
from its layer's base, lives in that layer's errors module, and stands in the tree its docstring draws
(under its parent, as httpx's `_exceptions.py` draws its own)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import booking
import clients
import suppliers

LAYERS = [(booking, "BookingError"), (suppliers, "SupplierError"), (clients, "EdgeError")]


def _modules(package: ModuleType) -> list[ModuleType]:
    names = pkgutil.iter_modules(package.__path__, prefix=package.__name__ + ".")
    return [importlib.import_module(info.name) for info in names]


def _exceptions_defined_in(package: ModuleType) -> list[type[BaseException]]:
    return [
        cls
        for module in _modules(package)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == module.__name__
    ]


def _drawn_parents(docstring: str) -> dict[str, str | None]:
    """Each class name of the drawn tree with the name it hangs under (None for the root).

    The root is the first line that is a lone class name (or one followed by two spaces and a note);
    every other class stands after a `├── ` or `└── `, indented one step deeper than its parent."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name) from the root down
    for line in docstring.splitlines():
        drawn = re.match(r"^([\s│]*[├└]── )([A-Z]\w+)", line) or (
            None if stack else re.match(r"^(\s*)([A-Z]\w+)(?:\s{2,}|$)", line)
        )
        if drawn is None:
            continue
        column, name = len(drawn.group(1)), drawn.group(2)
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


@pytest.mark.parametrize(("package", "base_name"), LAYERS, ids=lambda v: getattr(v, "__name__", v))
def test_every_exception_of_the_layer_is_in_its_drawn_tree(package: ModuleType, base_name: str) -> None:
    errors = importlib.import_module(package.__name__ + ".errors")
    base = getattr(errors, base_name)
    drawn = _drawn_parents(errors.__doc__ or "")
    found = _exceptions_defined_in(package)
    assert base in found and drawn[base_name] is None
    for cls in found:
        assert cls.__module__ == errors.__name__, f"{cls.__name__} lives outside {errors.__name__}"
        assert issubclass(cls, base), f"{cls.__name__} does not derive from {base_name}"
        assert cls.__name__ in drawn, f"{cls.__name__} is not drawn in {errors.__name__}'s tree"
        if cls is not base:
            assert drawn[cls.__name__] == cls.__mro__[1].__name__, f"{cls.__name__} hangs wrong"
    assert set(drawn) == {cls.__name__ for cls in found}
