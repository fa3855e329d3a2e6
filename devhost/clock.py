"""The one clock abstraction: the host runs on the system clock, the test harness on a virtual clock.

Every timestamp the engine writes (OrchestratorStarted, message visibility, instance times) comes from a
``Clock``; nothing in devhost reads ``datetime.now()`` directly.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

UTC = dt.UTC


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current UTC time (tz-aware)."""
        ...


class SystemClock:
    """Wall-clock time, strictly increasing so that consecutive episodes never share a timestamp."""

    def __init__(self) -> None:
        self._last = dt.datetime.min.replace(tzinfo=UTC)

    def now(self) -> dt.datetime:
        t = dt.datetime.now(UTC)
        if t <= self._last:
            t = self._last + dt.timedelta(microseconds=1)
        self._last = t
        return t


class VirtualClock:
    """Time that only moves when told to (harness time skipping). Each reading advances by one microsecond so
    that events stay ordered and ``new_uuid()`` values stay distinct, as they would on a real clock."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._t = (start or dt.datetime(2024, 1, 1, tzinfo=UTC)).astimezone(UTC)

    def now(self) -> dt.datetime:
        self._t += dt.timedelta(microseconds=1)
        return self._t

    def peek(self) -> dt.datetime:
        return self._t

    def advance(self, delta: dt.timedelta) -> None:
        if delta < dt.timedelta(0):
            raise ValueError("time cannot go backwards")
        self._t += delta

    def advance_to(self, t: dt.datetime) -> None:
        if t > self._t:
            self._t = t
