"""Loaded by a devhost that `bench/soak.py --trace-memory` starts (this folder on its PYTHONPATH), only.

With PYTHONTRACEMALLOC set, SIGUSR1 writes a tracemalloc snapshot (after a full collection) to
``$SOAK_SNAPSHOT_DIR/snapshot-<n>.pickle`` and then the file ``snapshot-<n>.done``, so the soak can compare
devhost's own allocations at the start of the load, its end and after the drain. A signal handler rather
than a route: nothing in devhost knows about it.
"""

from __future__ import annotations

import collections
import gc
import itertools
import json
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

_DIR = os.environ.get("SOAK_SNAPSHOT_DIR")
_COUNT = itertools.count(1)


def _dump(signum: int, frame: FrameType | None) -> None:
    if not _DIR or not tracemalloc.is_tracing():
        return
    n = next(_COUNT)
    path = Path(_DIR) / f"snapshot-{n}.pickle"
    try:
        gc.collect()
        tracemalloc.take_snapshot().dump(str(path))
        census = _census()
    except Exception as exc:  # noqa: BLE001 - a signal handler must never break the host it measures
        census = {f"failed: {exc!r}": 0}
    path.with_suffix(".census.json").write_text(json.dumps(census, sort_keys=True))
    path.with_suffix(".done").write_text(str(tracemalloc.get_traced_memory()))


def _census() -> dict[str, int]:
    """Length of every container attribute of every live devhost/app object, summed per class.attribute:
    the per-instance caches and bookkeeping whose growth tracemalloc shows only as "json/decoder.py"."""
    sizes: collections.Counter[str] = collections.Counter()
    prefixes = ("devhost", "booking", "activities", "orchestrators", "suppliers", "telemetry", "clients")
    for obj in gc.get_objects():
        cls = type(obj)
        module = cls.__dict__.get("__module__", "")
        if not isinstance(module, str) or not module.startswith(prefixes):
            continue
        attrs = getattr(obj, "__dict__", None)
        if not isinstance(attrs, dict):
            continue
        for name, value in list(attrs.items()):
            if isinstance(value, (dict, set, list, collections.deque)):
                sizes[f"{module}.{cls.__qualname__}.{name}"] += len(value)
    # module-level containers of the same packages (caches kept in a module global)
    for module_name, mod in list(sys.modules.items()):
        if not module_name.startswith(prefixes):
            continue
        for name, value in list(vars(mod).items()):
            if isinstance(value, (dict, set, list, collections.deque)) and not name.startswith("__"):
                sizes[f"{module_name}:{name}"] += len(value)
    return dict(sizes)


if _DIR:
    signal.signal(signal.SIGUSR1, _dump)
