"""A transparent speed-up for the SDK's replay: memoise its history-timestamp parser.

The SDK builds every ``HistoryEvent`` with ``dateutil.parser.parse(Timestamp)`` on every replay; that is
~85% of its replay time. The same timestamp strings recur in every episode of an instance, and ``parse`` is
a pure function returning immutable datetimes, so caching it changes nothing the orchestrator can observe.
Only the name inside the SDK's HistoryEvent module is wrapped; calls with extra arguments bypass the cache.
Opt out with ``DEVHOST_SDK_TIMESTAMP_CACHE=0``.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

_MODULE = "azure.durable_functions.models.history.HistoryEvent"


def install_timestamp_cache(maxsize: int = 1 << 16) -> bool:
    """Wrap the SDK's ``dt_parse`` with an LRU cache; idempotent. Returns whether the cache is active."""
    if os.environ.get("DEVHOST_SDK_TIMESTAMP_CACHE", "1").strip().lower() in ("0", "false", "no"):
        return False
    mod: Any = importlib.import_module(_MODULE)
    original = mod.dt_parse
    if getattr(original, "_devhost_cached", False):
        return True
    cached = functools.lru_cache(maxsize=maxsize)(original)

    def parse(timestr: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(timestr, str):
            return original(timestr, *args, **kwargs)
        return cached(timestr)

    parse._devhost_cached = True  # type: ignore[attr-defined]
    parse.__wrapped__ = original  # type: ignore[attr-defined]
    mod.dt_parse = parse
    return True
