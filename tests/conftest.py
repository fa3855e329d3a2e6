"""Guards for the whole suite.

Several tests load other function apps in this process the way the worker does (their folder first on
sys.path, `import function_app`). Each test gets sys.path and the `function_app` module back as they were,
so `import function_app` anywhere else always means the repository's own app.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_import_state() -> Iterator[None]:
    path = list(sys.path)
    app_module = sys.modules.get("function_app")
    yield
    sys.path[:] = path
    if app_module is None:
        sys.modules.pop("function_app", None)
    else:
        sys.modules["function_app"] = app_module
