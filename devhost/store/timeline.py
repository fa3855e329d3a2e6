"""A timeline of what devhost does, for benchmarks only (off unless ``DEVHOST_TIMELINE_FILE`` is set).

Each storage request (start, end, service, method, path with ids taken out) and each engine section
(lock, episode, commit, checkpoint tail, activity) becomes one JSON line ``[start, end, kind, what,
instance]`` (wall-clock seconds), so that ``bench/booking.py --timeline FILE`` can lay out one booking's
critical path: which waits are storage round trips, which are devhost's own CPU, and which are idle.
The instance a request works for is carried in a context variable: tasks inherit it when they are created,
so a checkpoint tail's requests are attributed to the episode that spawned it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from typing import IO

TIMELINE_FILE_SETTING = "DEVHOST_TIMELINE_FILE"

# The instance the current task works for ("" when none): set by the engine around an episode or activity.
current_instance: contextvars.ContextVar[str] = contextvars.ContextVar(
    "devhost_timeline_instance", default=""
)

_ID_IN_PATH = re.compile(r"(/messages/)[^/?]+|\(.*\)")


class Timeline:
    """Appends one JSON line per span to a file (line-buffered: a killed process loses nothing)."""

    def __init__(self, path: str) -> None:
        self._file: IO[str] = open(path, "a", buffering=1)  # noqa: SIM115 - kept open for the process
        self._lock = threading.Lock()

    def add(self, start: float, end: float, kind: str, what: str, instance: str | None = None) -> None:
        who = current_instance.get() if instance is None else instance
        row = [round(start, 6), round(end, 6), kind, what, who]
        line = json.dumps(row, separators=(",", ":")) + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(line)

    def close(self) -> None:
        with self._lock:
            self._file.close()

    @contextlib.contextmanager
    def span(self, kind: str, what: str = "", instance: str | None = None) -> Iterator[None]:
        start = time.time()
        try:
            yield
        finally:
            self.add(start, time.time(), kind, what, instance)


def request_path(url_path: str) -> str:
    """A request's path without message ids or entity keys (they would only make every line unique)."""
    return _ID_IN_PATH.sub(lambda m: m.group(1) + "*" if m.group(1) else "()", url_path)


_timeline: Timeline | None = None
_checked = False


def get() -> Timeline | None:
    """The process's timeline, or None when ``DEVHOST_TIMELINE_FILE`` is not set (the default)."""
    global _timeline, _checked
    if not _checked:
        _checked = True
        path = os.environ.get(TIMELINE_FILE_SETTING)
        if path:
            _timeline = Timeline(path)
    return _timeline


@contextlib.contextmanager
def span(kind: str, what: str = "", instance: str | None = None) -> Iterator[None]:
    """A span on the timeline when it is on; nothing (one global read) when it is off."""
    tl = get()
    if tl is None:
        yield
        return
    with tl.span(kind, what, instance):
        yield
