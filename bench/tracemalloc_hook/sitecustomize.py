"""Memory figures from inside devhost, for `bench/parked.py --tracemalloc`/`--mallocstats`: this directory
is put on devhost's PYTHONPATH only (never the sandbox's), so Python imports this module at start-up.
SIGUSR1 starts tracemalloc with DEVHOST_TRACEMALLOC_FRAMES frames per allocation (tracing from start-up,
PYTHONTRACEMALLOC, makes devhost take over a minute to import the SDKs), so a snapshot holds what was
allocated since then and is still alive. SIGUSR2 writes to DEVHOST_TRACEMALLOC_DUMP a JSON summary
(`<path>.json`: RSS, traced bytes, pymalloc's arenas, gc, threads and a census of devhost's and the app's
containers) and, when tracing, the snapshot (`<path>`); each is written under a temporary name and renamed,
so its presence means it is complete. Used by `bench/parked.py --tracemalloc` and `bench/soak.py
--trace-memory`; nothing in devhost knows about it."""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import signal
import sys
import threading
import tracemalloc
import types
from collections.abc import Callable
from types import FrameType


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


_PYMALLOC_KEYS = ("arenas allocated current", "arenas highwater mark", "bytes in allocated blocks",
                  "bytes in available blocks", "bytes lost to pool headers", "bytes lost to quantization",
                  "bytes lost to arena alignment")


def _pymalloc_stats(path: str) -> dict[str, int]:
    """pymalloc's own figures (sys._debugmallocstats writes them to the C stderr): arenas it holds, and
    the bytes in used blocks beside the bytes its pools and arenas take (empty while tracemalloc traces:
    it hides pymalloc behind its own hooks)."""
    err = os.dup(2)
    with open(path, "w") as f:
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(err, 2)
            os.close(err)
    out: dict[str, int] = {}
    with open(path) as f:
        for line in f:
            name, _, value = line.rpartition("=")
            key = name.strip().lstrip("#").strip()
            if key in _PYMALLOC_KEYS:
                out[key] = int(value.strip().replace(",", ""))
    return out


def _trimmed_rss_kb() -> int:
    """RSS after glibc gives back the free memory at the top of its heaps and in whole free pages
    (malloc_trim): what is left is memory in use or fragmented."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss_kb()


def _deep_size(root: object, seen: set[int]) -> int:
    """Bytes of `root` and everything it reaches that is not in `seen` yet (containers, strings, numbers;
    classes, modules and functions are not followed)."""
    size, stack = 0, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, threading.Thread):
            stack.append(vars(obj))
        elif hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, a) for a in obj.__slots__ if hasattr(obj, a))
    return size


def _holders() -> dict[str, int]:
    """Bytes reachable from devhost's long-lived holders, each counted once, in this order (what a later
    one shares with an earlier one is not counted again): the memory store's parts, the episode runner's
    cache, the SDK timestamp cache."""
    out: dict[str, int] = {}
    seen: set[int] = set()
    for obj in gc.get_objects():
        name = type(obj).__name__
        if name == "MemoryStore":
            done = {i for i, r in obj._instances.items()
                    if getattr(r.runtime_status, "name", "") in ("Completed", "Failed", "Terminated")}
            out["MemoryStore._histories of finished instances"] = _deep_size(
                [h for i, h in obj._histories.items() if i in done], seen)
            for part in ("_histories", "_instances", "_pending", "_delayed", "_activities"):
                out[f"MemoryStore.{part}"] = _deep_size(getattr(obj, part), seen)
        elif name == "EpisodeRunner":
            out["EpisodeRunner._cache"] = _deep_size(obj._cache, seen)
    speedups = sys.modules.get("devhost.engine.sdk_speedups")
    cache = getattr(speedups, "_installed", None)
    if cache is not None:
        out["sdk_speedups values"] = _deep_size(cache.values, seen)
    return out


def _census() -> dict[str, int]:
    """Length of every container attribute of every live devhost/app object, summed per class.attribute, and
    of the module-level containers of the same packages: the per-instance caches and bookkeeping whose
    growth tracemalloc shows only as "json/decoder.py"."""
    sizes: collections.Counter[str] = collections.Counter()
    prefixes = ("devhost", "booking", "activities", "orchestrators", "suppliers", "telemetry", "clients")
    containers = (dict, set, list, collections.deque)
    for obj in gc.get_objects():
        module = type(obj).__dict__.get("__module__", "")
        if not isinstance(module, str) or not module.startswith(prefixes):
            continue  # before reading __dict__: some other libraries' objects raise on it
        attrs = getattr(obj, "__dict__", None)
        if not isinstance(attrs, dict):
            continue
        for name, value in list(attrs.items()):
            if isinstance(value, containers):
                sizes[f"{module}.{type(obj).__qualname__}.{name}"] += len(value)
    for module_name, mod in list(sys.modules.items()):
        if module_name.startswith(prefixes):
            for name, value in list(vars(mod).items()):
                if isinstance(value, containers) and not name.startswith("__"):
                    sizes[f"{module_name}:{name}"] += len(value)
    return dict(sizes)


def _part(measure: Callable[[], dict[str, int]]) -> dict[str, int] | str:
    """One figure of the summary, or why it could not be taken (the others are still written)."""
    try:
        return measure()
    except Exception as exc:  # diagnostics only: a walk over live objects can trip on any of them
        return f"failed: {exc!r}"


def _dump(path: str) -> None:
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    summary = {
        "rss_kb": _rss_kb(),
        "traced_current_bytes": current,
        "traced_peak_bytes": peak,
        "tracemalloc_overhead_bytes": tracemalloc.get_tracemalloc_memory(),
        "gc_objects": len(gc.get_objects()),
        "gc_counts": gc.get_count(),
        "threads": threading.active_count(),
        "thread_names": sorted(t.name for t in threading.enumerate()),
        "pymalloc": _pymalloc_stats(path + ".pymalloc.txt"),
        "census": _part(_census),
    }
    if not tracemalloc.is_tracing():  # the walk is slow under tracing, and a snapshot says more then
        summary["holders_bytes"] = _part(_holders)
    if os.environ.get("DEVHOST_TRACEMALLOC_TRIM"):
        summary["rss_kb_after_malloc_trim"] = _trimmed_rss_kb()
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(path + ".tmp")
        os.replace(path + ".tmp", path)
    with open(path + ".json.tmp", "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(path + ".json.tmp", path + ".json")


def _on_signal(signum: int, frame: FrameType | None) -> None:
    path = os.environ.get("DEVHOST_TRACEMALLOC_DUMP", "")
    if path:
        try:
            _dump(path)
        except Exception as exc:  # diagnostics only: never take devhost down
            print(f"tracemalloc dump failed: {exc!r}", file=sys.stderr)


def _on_start(signum: int, frame: FrameType | None) -> None:
    frames = int(os.environ.get("DEVHOST_TRACEMALLOC_FRAMES") or 0)
    if frames and not tracemalloc.is_tracing():
        tracemalloc.start(frames)


if os.environ.get("DEVHOST_TRACEMALLOC_DUMP"):
    signal.signal(signal.SIGUSR1, _on_start)
    signal.signal(signal.SIGUSR2, _on_signal)
