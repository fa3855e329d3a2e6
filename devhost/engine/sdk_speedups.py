"""A transparent speed-up for the SDK's replay: memoise its history-timestamp parsing.

The SDK builds every ``HistoryEvent`` with ``dateutil.parser.parse(Timestamp)`` on every replay; that is
~85% of its replay time. The same strings recur in every episode of an instance, and ``parse`` is a pure
function returning immutable datetimes, so caching it changes nothing an orchestrator can observe. Strings
devhost formats itself (``devhost.history.format_ts``) are entered up front with exactly the value dateutil
would return (same fields, and the tzinfo dateutil gives ``Z`` on this machine). Only the name inside the
SDK's HistoryEvent module is wrapped; other calls pass through. Opt out: ``DEVHOST_SDK_TIMESTAMP_CACHE=0``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import threading
from typing import Any

from devhost import history

_MODULE = "azure.durable_functions.models.history.HistoryEvent"
# Timestamps are unique per event, so the cache only fills. It is kept in least-recently-used order and
# holds 8,192 (~1.2 MB): the histories being replayed stay (a hit moves to the end), those of finished
# instances age out; the least recently used quarter goes when it is full. At 32,768 in insertion order it
# held ~5 MB of timestamps of long-finished bookings after ~800 of them (the soak, bench/README.md).
_MAX = 1 << 13


class _TimestampCache:
    def __init__(self, original: Any) -> None:
        self.original = original
        self.values: dict[str, Any] = {}
        self.lock = threading.Lock()
        # what dateutil returns for a 'Z' suffix here (tzutc(), or tzlocal() on a UTC machine)
        self.z_tz = original("2000-01-01T00:00:00Z").tzinfo

    def _put(self, key: str, value: Any) -> None:
        with self.lock:
            if len(self.values) >= _MAX:
                for k in list(self.values)[: _MAX // 4]:  # drop the least recently used quarter
                    del self.values[k]
            self.values[key] = value

    def parse(self, timestr: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(timestr, str):
            return self.original(timestr, *args, **kwargs)
        with self.lock:
            v = self.values.pop(timestr, None)
            if v is not None:
                self.values[timestr] = v  # most recently used: to the end
                return v
        v = self.original(timestr)
        self._put(timestr, v)
        return v

    def remember(self, text: str, value: dt.datetime) -> None:
        if text.endswith("Z") and text not in self.values:
            self._put(text, value.astimezone(dt.UTC).replace(tzinfo=self.z_tz))


_installed: _TimestampCache | None = None


def install_timestamp_cache() -> bool:
    """Install the cache once per process. Returns whether it is active."""
    global _installed
    if os.environ.get("DEVHOST_SDK_TIMESTAMP_CACHE", "1").strip().lower() in ("0", "false", "no"):
        return False
    if _installed is not None:
        return True
    mod: Any = importlib.import_module(_MODULE)
    cache = _TimestampCache(mod.dt_parse)
    wrapper = cache.parse
    mod.dt_parse = wrapper
    history.TIMESTAMP_HOOK = cache.remember
    _installed = cache
    return True
