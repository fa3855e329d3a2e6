"""Load function_app.py the way the Python worker does (PROTOCOL.md §1.1) and index it with
`devhost.app_index`.

App root first on sys.path, the script named by PYTHON_SCRIPT_FILE_NAME (default function_app.py) imported
as a module, exactly one FunctionRegister, `get_functions()` once (app_index caches the index).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import traceback
import types
from collections.abc import Mapping
from pathlib import Path

from devhost.app_index import AppIndex, AppIndexError, index_app
from devhost.disabled import disabled_functions

log = logging.getLogger(__name__)

DEFAULT_SCRIPT = "function_app.py"


class AppLoadError(Exception):
    """function_app.py could not be imported or indexed; `str()` is one line for the console."""


def script_name(env: Mapping[str, str]) -> str:
    return env.get("PYTHON_SCRIPT_FILE_NAME") or DEFAULT_SCRIPT


def load_app(app_root: Path, env: Mapping[str, str] | None = None) -> tuple[types.ModuleType, AppIndex]:
    """Import the app's script from `app_root` and index its single function app."""
    env = os.environ if env is None else env
    root = app_root.resolve()
    script = script_name(env)
    path = root / script
    if not path.is_file():
        raise AppLoadError(f"{path} not found (set --app-root, or PYTHON_SCRIPT_FILE_NAME for another name)")
    module_name = Path(script).stem
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        if module_name in sys.modules and _module_file(sys.modules[module_name]) != path:
            # Another app's function_app was imported in this process (tests); import ours afresh.
            del sys.modules[module_name]
        module = importlib.import_module(module_name)
    except Exception as exc:
        # One clear line for the console; the full traceback goes to the log at debug level.
        log.debug("import of %s failed:\n%s", path, traceback.format_exc())
        raise AppLoadError(f"{script} failed to import: {type(exc).__name__}: {exc}") from exc
    try:
        index = index_app(module)
    except (AppIndexError, ValueError) as exc:
        raise AppLoadError(f"{script}: {exc}") from exc
    disabled = disabled_functions(index.function_names, env)
    index.disabled = frozenset(name.lower() for name in disabled)
    for name in disabled:
        # The WebJobs host's line when it skips a disabled function's listener (HostListenerFactory).
        log.info("Function '%s' is disabled", name)
    return module, index


def _module_file(module: types.ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None
