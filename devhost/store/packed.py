"""One execution's history as compact JSON text, for the in-memory store.

The memory store is the task hub itself: every instance it holds stays until purged, so thousands of
parked bookings keep their histories for hours. As Python dicts a booking's two histories (44 events) take
~32 KB; as JSON text ~15 KB (bench/README.md, "Parked at scale"). So the store keeps the text and parses
it only when an episode or a client reads the history: reads return fresh lists of fresh dicts, which the
caller may change without touching what is stored (as on the Azure Storage store, which also hands out
what it parsed from its rows)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from devhost.history import HistoryEvent

# No spaces: the text is never shown, only parsed back.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class PackedHistory:
    """An append-only list of history events held as one JSON text (the events' objects joined by
    commas, without the enclosing brackets, so that appending is one string concatenation)."""

    __slots__ = ("_count", "_text")

    def __init__(self) -> None:
        self._text = ""
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, events: Sequence[HistoryEvent]) -> None:
        if not events:
            return
        text = _encode(list(events))[1:-1]
        self._text = f"{self._text},{text}" if self._text else text
        self._count += len(events)

    def events(self) -> list[HistoryEvent]:
        """The events, parsed afresh on every call."""
        if not self._text:
            return []
        events: list[HistoryEvent] = json.loads(f"[{self._text}]")
        return events
